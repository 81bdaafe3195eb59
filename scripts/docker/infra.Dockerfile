# Kafka (KRaft) and HDFS (NameNode, DataNode) images of docker-compose.yml, built from the Maven Central artifacts
# of scripts/infra/*/pom.xml: the versions that scripts/services.sh runs. Targets: kafka, hadoop.
#   docker build -f scripts/docker/infra.Dockerfile --target kafka --build-arg ORYX_BASE_IMAGE=... .
ARG ORYX_BASE_IMAGE=debian:bookworm-slim

# The Java runtime; identical to the `jre` stage of ./Dockerfile so that the two builds share these layers.
FROM ${ORYX_BASE_IMAGE} AS jre
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin oryx

# Maven resolves the jars of the poms (then this stage is left behind).
FROM jre AS fetch
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven unzip \
 && rm -rf /var/lib/apt/lists/*
ARG MVN_COPY=org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies
COPY scripts/infra/kafka/pom.xml /poms/kafka/pom.xml
RUN s=$([ -f /etc/oryx/maven-settings.xml ] && echo "-s /etc/oryx/maven-settings.xml"); \
    mvn -B -q $s -f /poms/kafka/pom.xml "$MVN_COPY" -DincludeScope=runtime -DoutputDirectory=/opt/kafka/libs \
 && rm -rf /root/.m2/repository
COPY scripts/infra/hdfs/pom.xml /poms/hdfs/pom.xml
# HttpServer2 needs webapps/<name> on the classpath: the web UI comes from the hadoop-hdfs test-jar (then dropped)
RUN s=$([ -f /etc/oryx/maven-settings.xml ] && echo "-s /etc/oryx/maven-settings.xml"); \
    mvn -B -q $s -f /poms/hdfs/pom.xml "$MVN_COPY" -DincludeScope=runtime -DoutputDirectory=/opt/hadoop/libs \
 && rm -rf /root/.m2/repository \
 && mkdir -p /opt/hadoop/ui && cd /opt/hadoop/ui && unzip -q /opt/hadoop/libs/hadoop-hdfs-*-tests.jar 'webapps/*' \
 && rm /opt/hadoop/libs/hadoop-hdfs-*-tests.jar \
 && mkdir -p webapps/hdfs webapps/datanode webapps/static

FROM jre AS kafka
COPY --from=fetch /opt/kafka/libs /opt/kafka/libs
COPY scripts/infra/kafka/log4j2.properties /opt/kafka/config/log4j2.properties
COPY scripts/docker/kafka-start.sh /opt/kafka/bin/kafka-start.sh
RUN mkdir -p /var/lib/kafka/data /opt/kafka/run && chown -R oryx:oryx /var/lib/kafka /opt/kafka/run
USER oryx
EXPOSE 9092 19092
ENTRYPOINT ["bash", "/opt/kafka/bin/kafka-start.sh"]

FROM jre AS hadoop
COPY --from=fetch /opt/hadoop /opt/hadoop
COPY scripts/infra/hdfs/conf/log4j.properties scripts/infra/hdfs/conf/log4j2.properties /opt/hadoop/conf/
COPY scripts/docker/hadoop-start.sh /opt/hadoop/bin/hadoop-start.sh
RUN mkdir -p /var/lib/hadoop/name /var/lib/hadoop/data /var/lib/hadoop/tmp \
 && chown -R oryx:oryx /var/lib/hadoop /opt/hadoop/conf
USER oryx
EXPOSE 8020 9870 9864 9866 9867
ENTRYPOINT ["bash", "/opt/hadoop/bin/hadoop-start.sh"]
