"""The two-tower model's file layout and PMML extensions, shared by its batch update (which writes them) and its
speed manager (which reads them): one place, light to import (no training code)."""

MODEL_TYPE = "two-tower"  # PMML extension modelType
TOWER_DIR = "tower"  # the item and user tower weights (.npy)
EMBEDDING_DIR = "E"  # item ID embeddings
USER_EMBEDDING_DIR = "U"  # user ID embeddings, with oryx.deep.user-embedding
#: PMML extension that says whether X/ and the X UP messages carry users' known items ("true" / "false"); the speed
#: manager follows it, so that it needs no key of another model (oryx.als.no-known-items)
KNOWN_ITEMS = "knownItems"
