using System.Text;
using LlamaBoard.Engine.Checkpoints;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Checkpoints;

/// <summary>
/// Damaged files: each must give a <see cref="CheckpointFormatException"/> naming the file (and the tensor when one
/// is involved) before any data is read, never a crash, a hang or a huge allocation.
/// </summary>
public class SafetensorsCorruptionTests
{
    public SafetensorsCorruptionTests() => Torch.EnsureReady();

    static CheckpointFormatException Fails(string path)
    {
        var error = Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Equal(path, error.FilePath);
        Assert.Contains(path, error.Message);
        return error;
    }

    static string Header(params (string Name, string Entry)[] entries) =>
        "{" + string.Join(",", entries.Select(e => $"\"{e.Name}\":{e.Entry}")) + "}";

    [Fact]
    public void A_file_shorter_than_the_length_prefix_is_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("8-byte header length", Fails(path).Message);
    }

    [Fact]
    public void A_header_cut_short_is_reported_as_truncated()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("cut.safetensors");
        SafetensorsWriter.Write(path, [("w", ones(4, 4))]);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..20]); // inside the JSON header
        var error = Fails(path);
        Assert.Contains("truncated", error.Message);
        Assert.Null(error.TensorName);
    }

    [Fact]
    public void A_header_length_bigger_than_the_file_is_rejected_without_allocating_it()
    {
        using var dir = new TempDirectory();
        string path = dir.File("long.safetensors");
        RawSafetensors.Write(path, Encoding.UTF8.GetBytes("{}"), [], declaredLength: 50_000_000);
        Assert.Contains("only 2 bytes follow", Fails(path).Message);
    }

    [Fact]
    public void An_absurd_header_length_is_rejected_as_not_safetensors()
    {
        using var dir = new TempDirectory();
        string path = dir.File("huge.safetensors");
        RawSafetensors.Write(path, Encoding.UTF8.GetBytes("{}"), [], declaredLength: ulong.MaxValue);
        Assert.Contains("more than the 100000000", Fails(path).Message);
    }

    [Fact]
    public void Invalid_json_is_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("json.safetensors");
        RawSafetensors.Write(path, "{\"w\": {\"dtype\": \"F32\", ", []);
        Assert.Contains("not valid JSON", Fails(path).Message);
    }

    [Fact]
    public void A_header_that_is_not_an_object_is_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("array.safetensors");
        RawSafetensors.Write(path, "[1, 2]", []);
        Assert.Contains("not an object", Fails(path).Message);
    }

    [Fact]
    public void Offsets_past_the_end_of_the_data_name_the_tensor()
    {
        using var dir = new TempDirectory();
        string path = dir.File("oob.safetensors");
        RawSafetensors.Write(path, Header(("a", RawSafetensors.Entry("F32", [2], 0, 8)),
                                          ("b", RawSafetensors.Entry("F32", [4], 8, 24))), new byte[16]);
        var error = Fails(path);
        Assert.Equal("b", error.TensorName);
        Assert.Contains("tensor 'b'", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_valid_file_cut_inside_its_data_names_the_tensor_that_lost_bytes()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("data-cut.safetensors");
        SafetensorsWriter.Write(path, [("a.weight", ones(8, 8)), ("b.weight", ones(8, 8))]);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        Assert.Equal("b.weight", Fails(path).TensorName); // sorted by name, b is stored last
    }

    [Fact]
    public void Overlapping_offsets_name_both_tensors()
    {
        using var dir = new TempDirectory();
        string path = dir.File("overlap.safetensors");
        RawSafetensors.Write(path, Header(("first", RawSafetensors.Entry("F32", [4], 0, 16)),
                                          ("second", RawSafetensors.Entry("F32", [2], 8, 16))), new byte[16]);
        var error = Fails(path);
        Assert.Equal("second", error.TensorName);
        Assert.Contains("'first'", error.Message);
        Assert.Contains("overlap", error.Message);
    }

    [Fact]
    public void A_byte_count_that_does_not_match_dtype_and_shape_is_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("count.safetensors");
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("BF16", [3, 3], 0, 16))), new byte[16]);
        var error = Fails(path);
        Assert.Equal("w", error.TensorName);
        Assert.Contains("hold 16 bytes", error.Message);
        Assert.Contains("needs 18", error.Message);
    }

    [Fact]
    public void An_unknown_dtype_is_rejected_with_the_known_ones()
    {
        using var dir = new TempDirectory();
        string path = dir.File("dtype.safetensors");
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("Q4_K", [4], 0, 4))), new byte[4]);
        var error = Fails(path);
        Assert.Equal("w", error.TensorName);
        Assert.Contains("unknown dtype 'Q4_K'", error.Message);
        Assert.Contains("BF16", error.Message);
    }

    [Fact]
    public void Negative_shapes_and_reversed_offsets_are_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("neg.safetensors");
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("F32", [-1], 0, 4))), new byte[4]);
        Assert.Contains("non-negative", Fails(path).Message);
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("F32", [1], 4, 0))), new byte[4]);
        Assert.Contains("end before they begin", Fails(path).Message);
    }

    [Fact]
    public void A_shape_whose_byte_count_overflows_is_rejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("overflow.safetensors");
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("F64", [long.MaxValue / 2, 4], 0, 8))), new byte[8]);
        Assert.Contains("too large", Fails(path).Message);
    }

    [Fact]
    public void Metadata_must_map_strings_to_strings()
    {
        using var dir = new TempDirectory();
        string path = dir.File("meta.safetensors");
        RawSafetensors.Write(path, "{\"__metadata__\": {\"format\": 1}}", []);
        Assert.Contains("__metadata__", Fails(path).Message);
    }

    [Fact]
    public void Fp8_headers_are_valid_but_reading_their_data_says_what_to_do()
    {
        using var dir = new TempDirectory();
        string path = dir.File("fp8.safetensors");
        RawSafetensors.Write(path, Header(("w", RawSafetensors.Entry("F8_E4M3", [4], 0, 4))), new byte[4]);
        using var file = SafetensorsFile.Open(path);
        var error = Assert.Throws<NotSupportedException>(() => file.Read("w"));
        Assert.Contains("'w'", error.Message);
        Assert.Contains("F8_E4M3", error.Message);
    }
}
