using System.Text;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Readers;
using Parquet.Schema;
using Parquet.Serialization;

namespace LlamaBoard.Tests.Engine.Data.Readers;

public class DataFileReadersTests
{
    [Fact]
    public void Json_array_streams_records_across_window_boundaries_with_their_lines()
    {
        using var folder = new TempDataFolder();
        // ~300 KB: several 64 KB windows, one record larger than a window, multi-byte text, a BOM.
        var text = new StringBuilder("\uFEFF[\n");
        int count = 2000;
        for (int i = 0; i < count; i++)
        {
            string body = i == 777 ? new string('x', 100_000) : $"héllo {i} \\\"quoted\\\" ünïcode";
            text.Append($"  {{\"instruction\": \"{body}\",\n   \"id\": {i}}}");
            text.Append(i + 1 < count ? ",\n" : "\n");
        }
        text.Append(']');
        string path = folder.Write("big.json", text.ToString());

        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal(count, records.Count);
        Assert.All(records, r => Assert.Null(r.Error));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(i, records[i].Index);
            Assert.Equal(i, records[i].Fields!["id"]!.GetValue<int>());
            Assert.Equal(2 + 2 * i, records[i].Line); // record i starts on line 2 + 2i
        }
        Assert.Equal(100_000, records[777].Fields!["instruction"]!.GetValue<string>().Length);
        Assert.Equal("héllo 5 \"quoted\" ünïcode", records[5].Fields!["instruction"]!.GetValue<string>());
    }

    [Fact]
    public void Json_syntax_error_names_line_and_column()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("bad.json", "[\n  {\"a\": 1},\n  {\"a\": 2,, \"b\": 3}\n]");
        var e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Equal(3, e.Line);
        Assert.Equal(11, e.Column);
        Assert.Contains("invalid JSON", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Json_error_after_the_first_window_is_located_absolutely()
    {
        using var folder = new TempDataFolder();
        var text = new StringBuilder("[\n");
        for (int i = 0; i < 3000; i++) text.Append("{\"instruction\": \"some text that fills the window\"},\n");
        text.Append("{\"instruction\": tru}\n]");
        string path = folder.Write("late.json", text.ToString());
        var e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Equal(3002, e.Line);
        Assert.Equal(20, e.Column); // the reader stops at the "}" after "tru"
    }

    [Fact]
    public void Json_non_object_elements_and_unclosed_arrays_are_reported()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("mixed.json", "[{\"a\": 1}, \"oops\", {\"a\": 2}]");
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal(3, records.Count);
        Assert.Contains("expected a record (a JSON object), found a string", records[1].Error!.Message);
        Assert.Equal(1, records[1].Error!.RecordIndex);
        Assert.NotNull(records[2].Fields);

        path = folder.Write("open.json", "[{\"a\": 1},\n{\"a\": 2}");
        var e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("not closed", e.Message);

        path = folder.Write("object.json", "  \"text\"");
        e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("expected a JSON array of records", e.Message);
    }

    [Fact]
    public void Json_file_holding_json_lines_is_read_as_json_lines()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("lines.json", "{\"a\": 1}\n\n{\"a\": 2}\n");
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal([1, 2], records.Select(r => r.Fields!["a"]!.GetValue<int>()));
        Assert.Equal([1, 3], records.Select(r => r.Line!.Value));
    }

    [Fact]
    public void Json_lines_report_each_bad_line_and_keep_reading()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("d.jsonl", "{\"a\": 1}\n{\"a\": \n[1, 2]\n\n{\"a\": 4}\n");
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal(4, records.Count);
        Assert.Equal(1, records[0].Fields!["a"]!.GetValue<int>());
        Assert.Equal((1L, 2), (records[1].Error!.RecordIndex!.Value, records[1].Error!.Line!.Value));
        Assert.Contains("invalid JSON", records[1].Error!.Message);
        Assert.Contains("found a list", records[2].Error!.Message);
        Assert.Equal(5, records[3].Line);
    }

    [Fact]
    public void Csv_handles_quotes_commas_and_line_breaks_inside_fields()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("d.csv",
            "instruction,input,output\r\n" +
            "\"Say \"\"hi\"\", politely\",,Hi there.\r\n" +
            "\"Two\nlines\",x,\"a, b\"\n" +
            "short,row\n" +
            "last,,\"\"\n");
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal(4, records.Count);
        Assert.Equal("Say \"hi\", politely", records[0].Fields!["instruction"]!.GetValue<string>());
        Assert.Null(records[0].Fields!["input"]);
        Assert.Equal("Two\nlines", records[1].Fields!["instruction"]!.GetValue<string>());
        Assert.Equal("a, b", records[1].Fields!["output"]!.GetValue<string>());
        Assert.Equal(3, records[1].Line);
        Assert.Equal(5, records[2].Line);
        Assert.Contains("expected 3 fields (as in the header), found 2", records[2].Error!.Message);
        Assert.Equal("", records[3].Fields!["output"]!.GetValue<string>());
    }

    [Fact]
    public void Csv_unclosed_quote_and_bad_header_are_file_errors()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("q.csv", "a,b\n1,\"open\n2,3\n");
        var e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("quoted field is not closed", e.Message);
        Assert.Equal(2, e.Line);

        path = folder.Write("h.csv", "a,a\n1,2\n");
        e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("header names column 'a' twice", e.Message);
    }

    [Fact]
    public void Text_files_give_one_record_per_non_blank_line()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("c.txt", "first line\n\n  \nsecond line\n");
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal(["first line", "second line"], records.Select(r => r.Fields!["text"]!.GetValue<string>()));
        Assert.Equal([1, 4], records.Select(r => r.Line!.Value));
    }

    [Fact]
    public async Task Parquet_nested_conversations_become_json_lists_over_row_groups()
    {
        using var folder = new TempDataFolder();
        string path = Path.Combine(folder.Path, "d.parquet");
        var schema = new ParquetSchema(
            new DataField<string>("system"),
            new DataField<bool?>("kto_tag"),
            new ListField("conversations", new StructField("element", new DataField<string>("from"), new DataField<string>("value"))));
        IDictionary<string, object?> Row(string? system, bool? tag, params (string, string)[] turns) => new Dictionary<string, object?>
        {
            ["system"] = system,
            ["kto_tag"] = tag,
            ["conversations"] = turns.Select(t => new Dictionary<string, object> { ["from"] = t.Item1, ["value"] = t.Item2 }).ToList(),
        };
        // Three rows in row groups of two: the reader must walk every group.
        await using (var stream = File.Create(path))
        {
            await ParquetSerializer.SerializeUntypedAsync(
                [Row("be brief", true, ("human", "hi"), ("gpt", "hello")), Row(null, false, ("human", "2+2?"), ("gpt", "4")),
                 Row("third", null, ("human", "x"), ("gpt", "y"))],
                schema, stream, new Parquet.ParquetOptions { RowGroupSize = 2 });
        }
        await using (var stream = File.OpenRead(path))
        await using (var reader = await Parquet.ParquetReader.CreateAsync(stream))
            Assert.Equal(2, reader.RowGroupCount);
        var records = DataFileReaders.Read(path).ToList();
        Assert.Equal([0L, 1L, 2L], records.Select(r => r.Index));
        Assert.Null(records[1].Fields!["system"]);
        Assert.False(records[1].Fields!["kto_tag"]!.GetValue<bool>());
        Assert.Equal("third", records[2].Fields!["system"]!.GetValue<string>());
        var first = records[0].Fields!;
        Assert.Equal("be brief", first["system"]!.GetValue<string>());
        Assert.True(first["kto_tag"]!.GetValue<bool>());
        var turns = first["conversations"]!.AsArray();
        Assert.Equal("gpt", turns[1]!["from"]!.GetValue<string>());
        Assert.Equal("hello", turns[1]!["value"]!.GetValue<string>());
    }

    [Fact]
    public void Unsupported_and_corrupt_files_are_named()
    {
        using var folder = new TempDataFolder();
        string path = folder.Write("d.arrow", "x");
        var e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("convert Arrow files to Parquet", e.Message);
        path = folder.Write("broken.parquet", "this is not parquet");
        e = Assert.Throws<DatasetException>(() => DataFileReaders.Read(path).ToList());
        Assert.Contains("not a readable Parquet file", e.Message);
        Assert.Contains("broken.parquet", e.Message);
    }

}
