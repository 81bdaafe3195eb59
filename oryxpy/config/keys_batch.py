"""Batch layer keys: generations, storage, engine and Spark."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.batch.update-class", "batch.als.update.ALSUpdate", "dotted path of the batch update (the model builder) class"),
    Key("oryx.batch.engine", "local", "'local' trains in this process; 'spark' runs the generation on Apache Spark", kind="choice", choices=("local", "spark")),
    Key("oryx.batch.streaming.generation-interval-sec", 300, "seconds between batch generations (Oryx's default is 21600)", kind="int", minimum=1),
    Key("oryx.batch.streaming.master", "local[2]", "Spark master URL for the spark engine"),
    Key("oryx.batch.streaming.deploy-mode", "client", "spark-submit deploy mode", kind="choice", choices=("client", "cluster")),
    Key("oryx.batch.streaming.num-executors", 4, "Spark executors", kind="int", minimum=1),
    Key("oryx.batch.streaming.executor-cores", 4, "cores per Spark executor", kind="int", minimum=1),
    Key("oryx.batch.streaming.executor-memory", "2g", "memory per Spark executor"),
    Key("oryx.batch.streaming.driver-memory", "1g", "Spark driver memory"),
    Key("oryx.batch.streaming.dynamic-allocation", False, "Spark dynamic allocation", kind="bool"),
    Key("oryx.batch.streaming.trigger", "interval", "spark engine: 'interval' runs a generation every generation-interval-sec; 'available-now' turns what the input topic holds into generations, then exits", kind="choice", choices=("interval", "available-now")),
    Key("oryx.batch.streaming.starting-offsets", "earliest", "spark engine: where the first run starts reading the input topic (earliest: nothing sent before the query starts is skipped; later runs resume from <model-dir>/.checkpoint, and a run without it but with stored generations starts after the offsets they recorded)", kind="choice", choices=("latest", "earliest")),
    Key("oryx.batch.spark.kafka-jars-dir", None, "folder of the spark-sql-kafka jars (unset: .infra/spark-kafka of the checkout, filled by scripts/fetch-spark-kafka.sh); without jars, spark.jars.packages fetches them from Maven", optional=True),
    Key("oryx.batch.spark.als-blocks", None, "spark engine: ALS user and item blocks (unset: MLlib's 10; 2-4 suit a small machine)", kind="int", minimum=1, optional=True),
    Key("oryx.batch.spark.config", None, "spark engine: extra Spark settings as 'key=value,key=value' (e.g. spark.sql.shuffle.partitions=4)", optional=True),
    Key("oryx.batch.storage.data-dir", None, "URI (file: or hdfs://) where each generation's input is stored (unset: <state-dir>/data)", optional=True),
    Key("oryx.batch.storage.model-dir", None, "URI (file: or hdfs://) where models are written (unset: <state-dir>/model)", optional=True),
    Key("oryx.batch.storage.max-age-data-hours", -1, "delete stored input older than this many hours (-1: keep forever)", kind="int", minimum=-1),
    Key("oryx.batch.storage.max-age-model-hours", -1, "delete models older than this many hours (-1: keep forever)", kind="int", minimum=-1),
    Key("oryx.batch.publish-vectors", True, "send UP messages for every vector after a model (set false for huge models whose consumers load X/Y from model-dir)", kind="bool"),
    Key("oryx.batch.ui.port", 4040, "Spark UI port of the batch job", kind="int", minimum=0, maximum=65535),
]
