"""Serving layer keys."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.serving.model-manager-class", "serving.als.manager.ALSServingModelManager", "dotted path of the serving model manager class"),
    Key("oryx.serving.min-model-load-fraction", 0.8, "fraction of the model that must be loaded before queries are answered (503 before)", kind="float", minimum=0, maximum=1),
    Key("oryx.serving.api.host", "127.0.0.1", "address the REST API listens on (0.0.0.0 for every interface)"),
    Key("oryx.serving.api.port", 8080, "HTTP port", kind="int", minimum=0, maximum=65535),
    Key("oryx.serving.api.secure-port", 8443, "HTTPS port, used when a certificate is configured", kind="int", minimum=0, maximum=65535),
    Key("oryx.serving.api.context-path", "/", "URL prefix of every endpoint"),
    Key("oryx.serving.api.read-only", False, "serve reads only: /ingest and /pref answer 403", kind="bool"),
    Key("oryx.serving.api.user-name", None, "with password: require HTTP Digest authentication (realm Oryx; Basic too over HTTPS) on every endpoint", optional=True),
    Key("oryx.serving.api.password", None, "password for user-name", optional=True),
    Key("oryx.serving.api.cert-file", None, "PEM certificate (chain) file; when set the API serves HTTPS only, on secure-port (replaces Oryx's keystore-file and key-alias)", optional=True),
    Key("oryx.serving.api.key-file", None, "PEM private key file for cert-file, unencrypted (replaces Oryx's keystore-password)", optional=True),
    Key("oryx.serving.blas-threads", 1, "BLAS threads per computation in the serving process (0: the library default); 1 is fastest under concurrent requests", kind="int", minimum=0, maximum=1024),
    Key("oryx.serving.approximate-index", "none", "faster approximate top-N index for the items: none (exact, or Oryx's LSH when oryx.als.sample-rate < 1) or ivf (k-means inverted file; replaces LSH)", kind="choice", choices=("none", "ivf")),
    Key("oryx.serving.ivf.probes", 0, "with approximate-index ivf: lists scanned per query, more for better recall (0: 30% of the lists; recall@10 about 0.9 on random Gaussian vectors)", kind="int", minimum=0),
    Key("oryx.serving.ivf.lists", 0, "with approximate-index ivf: number of k-means lists (0: about sqrt(items))", kind="int", minimum=0),
    Key("oryx.serving.api.max-body-bytes", 268435456, "largest accepted request body (after decompression) in bytes; larger gives 413", kind="int", minimum=1024),
]
