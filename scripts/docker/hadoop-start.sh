#!/usr/bin/env bash
# Entrypoint of the Hadoop image: `namenode` or `datanode`. core-site.xml and hdfs-site.xml come from the
# environment in the CORE-SITE.XML_<name>=<value> / HDFS-SITE.XML_<name>=<value> form (conf/hadoop.env);
# the NameNode formats its directory once. HADOOP_HEAP sets the heap (default 384m).
set -euo pipefail
role="${1:?usage: hadoop-start.sh namenode|datanode}"
conf=/opt/hadoop/conf
site() {  # <prefix> <file>: the properties of the environment variables named <prefix><property>
  { echo '<?xml version="1.0"?>'; echo '<configuration>'
    env | while IFS='=' read -r name value; do
      if [[ "$name" == "$1"* ]]; then
        printf '  <property><name>%s</name><value>%s</value></property>\n' "${name#"$1"}" "$value"
      fi
    done
    echo '</configuration>'; } >"$conf/$2"
}
site CORE-SITE.XML_ core-site.xml
site HDFS-SITE.XML_ hdfs-site.xml
opens=(-XX:+IgnoreUnrecognizedVMOptions)
for p in java.io java.lang java.lang.reflect java.math java.net java.text java.util java.util.concurrent java.util.zip \
         sun.security.util sun.security.x509; do opens+=("--add-opens=java.base/$p=ALL-UNNAMED"); done
java_cmd=(java "-Xmx${HADOOP_HEAP:-384m}" "${opens[@]}" -Djava.net.preferIPv4Stack=true -Dhadoop.home.dir=/opt/hadoop
          -Dhadoop.log.dir=/tmp -Djava.io.tmpdir=/var/lib/hadoop/tmp -Dlog4j.configuration=file:$conf/log4j.properties
          -Dlog4j2.configurationFile=$conf/log4j2.properties -cp "$conf:/opt/hadoop/ui:/opt/hadoop/libs/*")
case "$role" in
  namenode)
    main=org.apache.hadoop.hdfs.server.namenode.NameNode
    if [[ ! -f /var/lib/hadoop/name/current/VERSION ]]; then
      "${java_cmd[@]}" "-Dproc_namenode_format" "$main" -format -force -nonInteractive
    fi ;;
  datanode) main=org.apache.hadoop.hdfs.server.datanode.DataNode ;;
  *) echo "hadoop-start.sh: unknown role '$role' (namenode|datanode)" >&2; exit 2 ;;
esac
exec "${java_cmd[@]}" "-Dproc_$role" "$main"
