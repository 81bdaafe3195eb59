"""Framework keys: identity, local state, topics and storage; and the registration of plug-in models' keys.

A model package declares its keys next to its code and names them in its distribution's entry points, group
``oryxpy.config_keys`` (``popular = "popular.keys:KEYS"`` in pyproject.toml): they are registered with these, so a
configuration file may set them and ``conf/reference.toml`` lists them, with no change to the core.
"""

from importlib.metadata import entry_points

from oryxpy.config.spec import Key
from oryxpy.errors import ConfigError

PLUGIN_GROUP = "oryxpy.config_keys"


def plugin_keys() -> list[Key]:
    """The keys every ``oryxpy.config_keys`` entry point names (a list of Key), in entry-point name order."""
    keys: list[Key] = []
    for point in sorted(entry_points(group=PLUGIN_GROUP), key=lambda p: p.name):
        try:
            declared = point.load()
        except ImportError as exc:
            raise ConfigError(f"entry point {point.name} = {point.value} ({PLUGIN_GROUP}) cannot be imported: {exc}") from exc
        if not isinstance(declared, list) or not all(isinstance(k, Key) for k in declared):
            raise ConfigError(f"entry point {point.name} = {point.value} ({PLUGIN_GROUP}) is not a list of Key")
        keys.extend(declared)
    return keys


CORE_KEYS = [
    Key("oryx.id", None, "stable identity of this deployment; names the consumer groups so a restarted layer resumes from its committed offset (unset: embedded input uses the identity kept in <state-dir>/identity, Kafka input one derived from the brokers and the input topic; the log says which)", optional=True),
    Key("oryx.embedded.state-dir", "oryx-state", "local directory for the embedded topics and, when data-dir/model-dir are unset, the data and models"),
    Key("oryx.embedded.input-retention-ms", 604800000, "embedded input log: records older than this that the batch layer has stored are deleted after each generation (-1: keep everything); Kafka topics use their own retention", kind="int", minimum=-1),
    Key("oryx.input-topic.broker", "embedded", "'embedded' for the local durable log under state-dir, or a Kafka bootstrap list 'host:port,host:port'"),
    Key("oryx.input-topic.message.topic", "OryxInput", "name of the input topic (interactions)"),
    Key("oryx.input-topic.partitions", 4, "number of partitions kafka-setup creates the input topic with", kind="int", minimum=1, maximum=1024),
    Key("oryx.update-topic.broker", "embedded", "'embedded', a Kafka bootstrap list, or unset to publish no updates", optional=True),
    Key("oryx.update-topic.message.topic", "OryxUpdate", "name of the update topic (MODEL, MODEL-REF, UP messages)"),
    Key("oryx.update-topic.message.max-size", 16777216, "largest update message in bytes; a bigger model is published as MODEL-REF; also the consumer fetch size and the topic's max.message.bytes", kind="int", minimum=1024, maximum=67108864),
    Key("oryx.update-topic.retention-ms", 86400000, "retention of the update topic set by kafka-setup; keep it about twice the batch generation interval", kind="int", minimum=60000),
    Key("oryx.kafka.timeout-sec", 30.0, "how long a Kafka client waits for the broker (connect, acknowledge) before it reports the broker unreachable", kind="float", minimum=1.0, maximum=3600.0),
    Key("oryx.storage.hdfs.webhdfs-url", None, "WebHDFS address for hdfs:// URIs (unset: http://<namenode host>:9870)", optional=True),
    Key("oryx.storage.hdfs.user", None, "user name for WebHDFS requests (unset: the current user)", optional=True),
    Key("oryx.compat.oryx-layers", True, "Kafka topics may be shared with released Oryx 2.8 layers: warn at startup about settings that break them (publish-vectors, update-topic retention); false when no Oryx layer reads these topics", kind="bool"),
]

KEYS = CORE_KEYS + plugin_keys()
