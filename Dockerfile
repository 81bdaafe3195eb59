# The oryxpy image: every layer (batch with the Spark engine as a driver, speed, serving) from one build.
FROM python:3.11-slim

# Java runs the Spark driver of the batch layer (spark-submit to the cluster's master).
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY oryxpy ./oryxpy
COPY batch ./batch
COPY speed ./speed
COPY serving ./serving
COPY conf ./conf
RUN pip install --no-cache-dir ".[spark]"

ENV SPARK_LOCAL_IP=0.0.0.0 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["oryxpy"]
CMD ["run", "--conf", "/app/conf/docker.toml"]
