//! The report's tables as CSV, Parquet or both (`--table-format`).
//!
//! A table is always produced by its CSV writer; as Parquet its CSV bytes (captured in memory,
//! never written) are read back into typed columns, so the two formats hold the same numbers:
//! every CSV number is the shortest decimal that reads back to the same double, so the
//! Parquet `Float64` is that double, bit for bit. The column types (documented in
//! docs/outputs.md) come from the column's name:
//!
//! * `metric`, `decomposition`, `component`, `holder`: `Utf8`;
//! * `exact`, `redeemed`: `Boolean` (the CSV's 1 / 0);
//! * `step`, `paths`, `count`, `window_paths`, and `contributions.csv`'s `tail_paths`:
//!   `UInt64`;
//! * every other column: `Float64`, null where the CSV cell is empty (`standalone_es`,
//!   `diversification_benefit`, the unpaid row's `wait_days_lo`/`wait_days_hi`).
//!
//! One row group, Snappy-compressed; the bytes depend only on the table (and the writer's
//! version), so they are the same for any thread count and for merged shards.

use std::path::Path;

use crate::error::{Error, Result};

/// Which files the report's tables are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// `<table>.csv` (the default).
    #[default]
    Csv,
    /// `<table>.parquet` instead of the CSV (needs the cargo feature `parquet`).
    Parquet,
    /// Both.
    Both,
}

impl TableFormat {
    /// Whether the tables are written as CSV.
    pub fn csv(self) -> bool {
        matches!(self, TableFormat::Csv | TableFormat::Both)
    }

    /// Whether the tables are written as Parquet.
    pub fn parquet(self) -> bool {
        matches!(self, TableFormat::Parquet | TableFormat::Both)
    }

    /// The format's name: `csv`, `parquet` or `both`.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
            TableFormat::Both => "both",
        }
    }

    /// The format named `name` ([`TableFormat::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [TableFormat::Csv, TableFormat::Parquet, TableFormat::Both]
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// Fails (an input error) when the format needs Parquet and this build has none.
    pub fn check_available(self) -> Result<()> {
        if self.parquet() && !crate::paths_parquet::AVAILABLE {
            return Err(Error::parquet_unavailable(
                "--table-format parquet",
                "--table-format csv",
            ));
        }
        Ok(())
    }
}

/// The type of a table's column, from its name (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text (`Utf8`).
    Text,
    /// 0 or 1 (`Boolean`).
    Flag,
    /// A count (`UInt64`).
    Count,
    /// A number (`Float64`), null where the CSV cell is empty.
    Number,
}

/// The type of column `column` of table `table` (its file stem, e.g. `contributions`).
pub fn column_type(table: &str, column: &str) -> ColumnType {
    match column {
        "metric" | "decomposition" | "component" | "holder" => ColumnType::Text,
        "exact" | "redeemed" => ColumnType::Flag,
        "step" | "paths" | "count" | "window_paths" => ColumnType::Count,
        "tail_paths" if table == "contributions" => ColumnType::Count,
        _ => ColumnType::Number,
    }
}

/// Writes table `stem` through `write_csv` (which writes the CSV at the path it is given) as
/// `stem.csv`, `stem.parquet` or both, at the paths `file` gives those names.
pub fn write_table(
    format: TableFormat,
    stem: &str,
    file: &mut dyn FnMut(&str) -> std::path::PathBuf,
    write_csv: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    if format.csv() {
        write_csv(&file(&format!("{stem}.csv")))?;
    }
    if format.parquet() {
        let name = format!("{stem}.csv");
        let (written, mut captured) = lrtsim_report::capture_writes(|| write_csv(Path::new(&name)));
        written?;
        let csv = captured
            .remove(Path::new(&name))
            .ok_or_else(|| Error::Failed(format!("{name}: nothing was written")))?;
        let bytes = parquet_from_csv(stem, &csv)?;
        lrtsim_report::write_atomic(&file(&format!("{stem}.parquet")), |w| w.write_all(&bytes))?;
    }
    Ok(())
}

/// The Parquet bytes of table `stem` from its CSV bytes.
#[cfg(feature = "parquet")]
pub fn parquet_from_csv(stem: &str, csv: &[u8]) -> Result<Vec<u8>> {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array,
    };
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let fail = |what: String| Error::Failed(format!("{stem}.parquet: {what}"));
    let mut reader = csv::ReaderBuilder::new().from_reader(csv);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| fail(format!("reading the CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| fail(format!("reading row {}: {e}", row + 1)))?;
        for (col, cell) in record.iter().enumerate() {
            cells[col].push(cell.to_string());
        }
    }
    let mut fields = Vec::with_capacity(header.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(header.len());
    for (name, column) in header.iter().zip(&cells) {
        let bad = |row: usize, cell: &str| {
            fail(format!(
                "row {}, column `{name}`: `{cell}` is not a {:?}",
                row + 1,
                column_type(stem, name)
            ))
        };
        let (data_type, nullable, array): (DataType, bool, ArrayRef) = match column_type(stem, name)
        {
            ColumnType::Text => (
                DataType::Utf8,
                false,
                Arc::new(StringArray::from_iter_values(column)),
            ),
            ColumnType::Flag => {
                let values = column
                    .iter()
                    .enumerate()
                    .map(|(row, c)| match c.as_str() {
                        "1" => Ok(true),
                        "0" => Ok(false),
                        _ => Err(bad(row, c)),
                    })
                    .collect::<Result<Vec<bool>>>()?;
                (
                    DataType::Boolean,
                    false,
                    Arc::new(BooleanArray::from(values)),
                )
            }
            ColumnType::Count => {
                let values = column
                    .iter()
                    .enumerate()
                    .map(|(row, c)| c.parse::<u64>().map_err(|_| bad(row, c)))
                    .collect::<Result<Vec<u64>>>()?;
                (DataType::UInt64, false, Arc::new(UInt64Array::from(values)))
            }
            ColumnType::Number => {
                let values = column
                    .iter()
                    .enumerate()
                    .map(|(row, c)| {
                        if c.is_empty() {
                            Ok(None)
                        } else {
                            c.parse::<f64>().map(Some).map_err(|_| bad(row, c))
                        }
                    })
                    .collect::<Result<Vec<Option<f64>>>>()?;
                (
                    DataType::Float64,
                    true,
                    Arc::new(Float64Array::from(values)),
                )
            }
        };
        fields.push(Field::new(name, data_type, nullable));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| fail(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("lrtsim {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, schema, Some(props)).map_err(|e| fail(e.to_string()))?;
    writer.write(&batch).map_err(|e| fail(e.to_string()))?;
    writer.close().map_err(|e| fail(e.to_string()))?;
    Ok(bytes)
}

/// Fails: this build has no Parquet writer.
#[cfg(not(feature = "parquet"))]
pub fn parquet_from_csv(_stem: &str, _csv: &[u8]) -> Result<Vec<u8>> {
    Err(Error::parquet_unavailable(
        "--table-format parquet",
        "--table-format csv",
    ))
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    use super::*;
    use arrow_array::{Array, BooleanArray, Float64Array, StringArray, UInt64Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn read(bytes: Vec<u8>) -> arrow_array::RecordBatch {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &bytes).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 1);
        batches.into_iter().next().unwrap()
    }

    #[test]
    fn columns_are_typed_and_numbers_exact() {
        let csv = "holder,redeemed,wait_days_lo,wait_days_hi,paths,share,cdf\n\
                   t0,1,0,0,3,0.1,0.30000000000000004\n\
                   t0,0,,,7,0.7,1\n";
        let batch = read(parquet_from_csv("redemption_wait", csv.as_bytes()).unwrap());
        let schema = batch.schema();
        let types: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("{}:{}:{}", f.name(), f.data_type(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            [
                "holder:Utf8:false",
                "redeemed:Boolean:false",
                "wait_days_lo:Float64:true",
                "wait_days_hi:Float64:true",
                "paths:UInt64:false",
                "share:Float64:true",
                "cdf:Float64:true"
            ]
        );
        let col = |i: usize| batch.column(i).clone();
        let holder = col(0);
        let holder = holder.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(holder.value(1), "t0");
        let redeemed = col(1);
        let redeemed = redeemed.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert!(redeemed.value(0) && !redeemed.value(1));
        let lo = col(2);
        let lo = lo.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(lo.is_valid(0) && lo.is_null(1));
        let paths = col(4);
        let paths = paths.as_any().downcast_ref::<UInt64Array>().unwrap();
        assert_eq!(paths.values().to_vec(), [3, 7]);
        let cdf = col(6);
        let cdf = cdf.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(cdf.value(0).to_bits(), (0.1f64 + 0.2).to_bits());
    }

    #[test]
    fn a_cell_of_the_wrong_type_is_an_error_naming_it() {
        let err = parquet_from_csv("loss_distribution", b"metric,count\nx,1.5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("loss_distribution.parquet")
                && err.contains("row 1, column `count`")
                && err.contains("`1.5`"),
            "{err}"
        );
    }

    #[test]
    fn tail_paths_is_a_count_only_in_contributions() {
        assert_eq!(
            column_type("contributions", "tail_paths"),
            ColumnType::Count
        );
        assert_eq!(column_type("exceedance", "tail_paths"), ColumnType::Number);
    }
}
