"""The batch layer on Apache Spark: spark-submit, Structured Streaming from Kafka, pyspark.ml ALS."""
