# The oryxpy images: every layer from the code of this checkout, on one base image (a Debian bookworm).
#   target `layers`: speed, serving and kafka-setup (Python only: no Java, no pyspark)
#   target `spark` : the batch layer (Spark engine, spark-submit driver) and the Spark master and worker, so that
#                    the executors run the same Python, oryxpy and dependencies as the driver
# docker-compose.yml builds both; ORYX_BASE_IMAGE picks the base (scripts/docker/base-image.sh builds one locally).
ARG ORYX_BASE_IMAGE=debian:bookworm-slim

FROM ${ORYX_BASE_IMAGE} AS python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv curl procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin oryx \
 && mkdir -p /var/lib/oryx && chown oryx:oryx /var/lib/oryx
ENV VIRTUAL_ENV=/opt/oryx/venv PATH=/opt/oryx/venv/bin:$PATH PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# the dependencies alone first, so that a change of the code reuses this layer
COPY pyproject.toml ./
RUN python3 -m venv "$VIRTUAL_ENV" \
 && python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies']))" >/tmp/req.txt \
 && pip install "setuptools>=68" -r /tmp/req.txt && rm /tmp/req.txt

# The Java runtime and Maven for the spark-sql-kafka connector jars (same first layer as scripts/docker/infra.Dockerfile).
FROM ${ORYX_BASE_IMAGE} AS jre
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin oryx
FROM jre AS fetch
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven unzip \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/infra/spark-kafka/pom.xml /poms/spark-kafka/pom.xml
RUN s=$([ -f /etc/oryx/maven-settings.xml ] && echo "-s /etc/oryx/maven-settings.xml"); \
    mvn -B -q $s -f /poms/spark-kafka/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DincludeArtifactIds=spark-sql-kafka-0-10_2.13,spark-token-provider-kafka-0-10_2.13,kafka-clients,commons-pool2 \
      -DoutputDirectory=/opt/oryx/spark-kafka \
 && rm -rf /root/.m2/repository

FROM python AS layers
COPY README.md ./
COPY oryxpy ./oryxpy
COPY batch ./batch
COPY speed ./speed
COPY serving ./serving
COPY popular ./popular
COPY conf ./conf
RUN pip install --no-deps --no-build-isolation . && python -c "import oryxpy, serving, speed, popular; from oryxpy.config import default_config; default_config()"
USER oryx
EXPOSE 8080
ENTRYPOINT ["oryxpy"]
CMD ["run", "--conf", "/app/conf/docker.toml"]

FROM python AS spark
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['optional-dependencies']['spark']))" >/tmp/req.txt \
 && pip install -r /tmp/req.txt && rm /tmp/req.txt
COPY --from=fetch /opt/oryx/spark-kafka /opt/oryx/spark-kafka
COPY --from=layers /app /app
RUN pip install --no-deps --no-build-isolation . && python -c "import batch.spark.session" \
 && mkdir -p /var/lib/spark/work && chown oryx:oryx /var/lib/spark/work
ENV SPARK_WORKER_DIR=/var/lib/spark/work
USER oryx
ENTRYPOINT ["oryxpy"]
CMD ["batch", "--conf", "/app/conf/docker.toml"]
