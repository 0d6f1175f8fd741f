using LlamaBoard.Engine.Export.Gguf;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>The GGUF container: header, metadata of every type, tensor infos, alignment and data placement.</summary>
public class GgufWriterTests
{
    public GgufWriterTests() => Torch.EnsureReady();

    static byte[] WriteToBytes(GgufMetadata metadata, IReadOnlyList<GgufTensor> tensors)
    {
        using var stream = new MemoryStream();
        GgufWriter.Write(stream, metadata, tensors);
        return stream.ToArray();
    }

    static GgufTensor Of(string name, Tensor values, GgmlType type) => new(name, values.shape, type, () => values, DisposeAfterWrite: false);

    [Fact]
    public void Header_metadata_and_tensor_infos_read_back_as_written()
    {
        var metadata = new GgufMetadata()
            .Set("general.architecture", GgufValue.String("llama"))
            .Set("a.u32", GgufValue.UInt32(7))
            .Set("a.i32", GgufValue.Int32(-3))
            .Set("a.f32", GgufValue.Float32(1.5f))
            .Set("a.bool", GgufValue.Bool(true))
            .Set("a.u64", GgufValue.UInt64(1UL << 40))
            .Set("a.f64", GgufValue.Float64(0.25))
            .Set("a.strings", GgufValue.Strings(["Ġthe", "北京", ""]))
            .Set("a.ints", GgufValue.Int32s([1, -2, 3]))
            .Set("a.floats", GgufValue.Float32s([0.5f, -1f]));
        using var matrix = arange(0, 3 * 5, dtype: ScalarType.Float32).reshape(3, 5);      // (3, 5)
        using var vector = ones(7);
        var bytes = WriteToBytes(metadata, [Of("m.weight", matrix, GgmlType.F32), Of("v.weight", vector, GgmlType.F32)]);

        var file = GgufReader.Read(bytes);
        Assert.Equal(3u, file.Version);
        Assert.Equal(metadata.Entries.Select(e => e.Key), file.KeyOrder);
        Assert.Equal("llama", file.Metadata["general.architecture"]);
        Assert.Equal(7u, file.Metadata["a.u32"]);
        Assert.Equal(-3, file.Metadata["a.i32"]);
        Assert.Equal(1.5f, file.Metadata["a.f32"]);
        Assert.Equal(true, file.Metadata["a.bool"]);
        Assert.Equal(1UL << 40, file.Metadata["a.u64"]);
        Assert.Equal(0.25, file.Metadata["a.f64"]);
        Assert.Equal(new object[] { "Ġthe", "北京", "" }, (object[])file.Metadata["a.strings"]);
        Assert.Equal(new object[] { 1, -2, 3 }, (object[])file.Metadata["a.ints"]);
        Assert.Equal(new object[] { 0.5f, -1f }, (object[])file.Metadata["a.floats"]);

        // Dimensions innermost first: a (3, 5) PyTorch matrix is ne = [5, 3].
        Assert.Equal([5UL, 3UL], file.Tensors[0].Dims);
        Assert.Equal([7UL], file.Tensors[1].Dims);
        Assert.Equal(0UL, file.Tensors[0].Offset);
        Assert.Equal(64UL, file.Tensors[1].Offset); // 60 bytes rounded up to the 32-byte alignment
        Assert.Equal(0, file.DataStart % 32);
        Assert.Equal(matrix.data<float>().ToArray(), file.Floats("m.weight"));
        Assert.Equal(Enumerable.Repeat(1f, 7), file.Floats("v.weight"));
        Assert.Equal(0, file.FileLength % 32);
    }

    [Fact]
    public void General_alignment_sets_where_the_data_and_every_tensor_start()
    {
        var metadata = new GgufMetadata().Set("general.alignment", GgufValue.UInt32(64));
        using var a = ones(3);
        using var b = ones(2, 32);
        var file = GgufReader.Read(WriteToBytes(metadata, [Of("a", a, GgmlType.F32), Of("b", b, GgmlType.Q8_0)]));
        Assert.Equal(64, file.Alignment);
        Assert.Equal(0, file.DataStart % 64);
        Assert.Equal(64UL, file.Tensors[1].Offset);
        Assert.Equal(2 * 34, file.TensorBytes("b").Length);
    }

    [Fact]
    public void Bad_tensor_lists_are_refused_with_the_tensor_named()
    {
        using var odd = ones(2, 40);
        var e = Assert.Throws<ArgumentException>(() => WriteToBytes(new GgufMetadata(), [Of("blk.0.odd.weight", odd, GgmlType.Q8_0)]));
        Assert.Contains("blk.0.odd.weight", e.Message);
        Assert.Contains("multiple of 32", e.Message);

        using var v = ones(2);
        e = Assert.Throws<ArgumentException>(() => WriteToBytes(new GgufMetadata(), [Of("x", v, GgmlType.F32), Of("x", v, GgmlType.F32)]));
        Assert.Contains("'x' appears twice", e.Message);

        string longName = new('n', 64);
        e = Assert.Throws<ArgumentException>(() => WriteToBytes(new GgufMetadata(), [Of(longName, v, GgmlType.F32)]));
        Assert.Contains("63 bytes", e.Message);
    }

    [Fact]
    public void A_tensor_that_does_not_match_its_announced_shape_fails_instead_of_writing_a_corrupt_file()
    {
        using var actual = ones(4);
        var wrong = new GgufTensor("t", [5], GgmlType.F32, () => actual, DisposeAfterWrite: false);
        var e = Assert.Throws<InvalidOperationException>(() => WriteToBytes(new GgufMetadata(), [wrong]));
        Assert.Contains("announced as [5]", e.Message);
    }

    [Fact]
    public void Cancellation_stops_between_tensors()
    {
        using var cancel = new CancellationTokenSource();
        using var a = ones(8);
        int produced = 0;
        var tensors = Enumerable.Range(0, 3).Select(i => new GgufTensor($"t{i}", [8], GgmlType.F32, () =>
        {
            produced++;
            cancel.Cancel();
            return a;
        }, DisposeAfterWrite: false)).ToList();
        using var stream = new MemoryStream();
        Assert.ThrowsAny<OperationCanceledException>(() => GgufWriter.Write(stream, new GgufMetadata(), tensors, cancel.Token));
        Assert.Equal(1, produced);
    }
}
