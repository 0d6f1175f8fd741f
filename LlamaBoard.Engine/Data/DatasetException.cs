using System.Globalization;

namespace LlamaBoard.Engine.Data;

/// <summary>
/// A problem with a dataset, located as precisely as the source allows: the dataset name, the file, the record
/// index (0-based, as <c>dataset[i]</c> counts), the line and column for text formats, and the field. The message
/// reads as one sentence with the location first, then what is wrong, then what to do.
/// </summary>
public sealed class DatasetException : Exception
{
    /// <summary>Creates the error; <see cref="Exception.Message"/> is composed from the parts.</summary>
    public DatasetException(string problem, string? dataset = null, string? file = null, long? recordIndex = null,
                            int? line = null, int? column = null, string? field = null, string? remedy = null,
                            Exception? inner = null)
        : base(Compose(problem, dataset, file, recordIndex, line, column, field, remedy), inner)
    {
        Problem = problem;
        Dataset = dataset;
        File = file;
        RecordIndex = recordIndex;
        Line = line;
        Column = column;
        Field = field;
        Remedy = remedy;
    }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
    /// <summary>The dataset name as written in dataset_info.json.</summary>
    public string? Dataset { get; }
    /// <summary>The data file.</summary>
    public string? File { get; }
    /// <summary>The 0-based index of the record inside its file.</summary>
    public long? RecordIndex { get; }
    /// <summary>1-based line in the file (JSON, JSON Lines, CSV, text).</summary>
    public int? Line { get; }
    /// <summary>1-based column (in bytes for JSON) in the file.</summary>
    public int? Column { get; }
    /// <summary>The column or key that is missing or wrong, as the file spells it.</summary>
    public string? Field { get; }
    /// <summary>What the user can do about it.</summary>
    public string? Remedy { get; }

    /// <summary>The same problem with the dataset name and file filled in (readers do not know the dataset).</summary>
    public DatasetException WithSource(string dataset, string? file = null) =>
        new(Problem, Dataset ?? dataset, File ?? file, RecordIndex, Line, Column, Field, Remedy, InnerException);

    static string Compose(string problem, string? dataset, string? file, long? record, int? line, int? column,
                          string? field, string? remedy)
    {
        var parts = new List<string>();
        if (dataset is not null) parts.Add($"dataset '{dataset}'");
        if (file is not null) parts.Add($"file {file}");
        if (record is not null)
        {
            string where = string.Create(CultureInfo.InvariantCulture, $"record {record}");
            if (line is not null)
                where += column is null ? string.Create(CultureInfo.InvariantCulture, $" (line {line})")
                                        : string.Create(CultureInfo.InvariantCulture, $" (line {line}, column {column})");
            parts.Add(where);
        }
        else if (line is not null)
            parts.Add(column is null ? string.Create(CultureInfo.InvariantCulture, $"line {line}")
                                     : string.Create(CultureInfo.InvariantCulture, $"line {line}, column {column}"));
        if (field is not null) parts.Add($"field '{field}'");
        string location = parts.Count == 0 ? "" : string.Join(", ", parts) + ": ";
        string text = location + problem.TrimEnd('.') + ".";
        return remedy is null ? text : text + " " + remedy.TrimEnd('.') + ".";
    }
}
