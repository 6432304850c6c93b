"""The ``headwater`` data source: Spark's entry point to the reader and the writers."""

from __future__ import annotations

from pyspark.sql.datasource import (
    DataSource,
    DataSourceStreamReader,
    DataSourceStreamWriter,
    DataSourceWriter,
)
from pyspark.sql.types import StructType

from headwater.analytics.spark.options import StreamOptions
from headwater.analytics.spark.reader import SCHEMA_DDL, HeadwaterStreamReader
from headwater.analytics.spark.writer import (
    HeadwaterBatchWriter,
    HeadwaterStreamWriter,
    check_schema,
)


class HeadwaterDataSource(DataSource):
    """Kinesis streams (Headwater or AWS) as a Spark streaming source and sink.

    Read: ``spark.readStream.format("headwater").option("stream", ...)``; write a DataFrame
    with ``data`` and ``partition_key`` columns with ``.write`` or ``.writeStream``.
    """

    @classmethod
    def name(cls) -> str:
        return "headwater"

    def schema(self) -> str:
        return SCHEMA_DDL

    def streamReader(self, schema: StructType) -> DataSourceStreamReader:
        return HeadwaterStreamReader(StreamOptions.parse(self.options))

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        check_schema(schema)
        return HeadwaterBatchWriter(StreamOptions.parse(self.options))

    def streamWriter(self, schema: StructType, overwrite: bool) -> DataSourceStreamWriter:
        check_schema(schema)
        return HeadwaterStreamWriter(StreamOptions.parse(self.options))
