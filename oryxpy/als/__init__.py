"""ALS math shared by the speed and serving layers: fold-in of new interactions and the cached Gram solvers."""

from oryxpy.als.foldin import compute_target_qui, compute_updated_xu, fold_in_many
from oryxpy.als.solver import Solver, SolverCache, gram

__all__ = ["Solver", "SolverCache", "compute_target_qui", "compute_updated_xu", "fold_in_many", "gram"]
