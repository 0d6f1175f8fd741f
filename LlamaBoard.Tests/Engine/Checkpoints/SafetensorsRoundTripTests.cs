using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LlamaBoard.Engine.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Checkpoints;

/// <summary>Writing and reading safetensors files: every dtype, metadata, conversion on read, unaligned data.</summary>
public class SafetensorsRoundTripTests
{
    public SafetensorsRoundTripTests() => Torch.EnsureReady();

    public static TheoryData<ScalarType, string> DTypes => new()
    {
        { ScalarType.Float64, "F64" }, { ScalarType.Float32, "F32" }, { ScalarType.Float16, "F16" },
        { ScalarType.BFloat16, "BF16" }, { ScalarType.Int64, "I64" }, { ScalarType.Int32, "I32" },
        { ScalarType.Int16, "I16" }, { ScalarType.Int8, "I8" }, { ScalarType.Byte, "U8" }, { ScalarType.Bool, "BOOL" },
    };

    static Tensor Sample(ScalarType type, params long[] shape)
    {
        // Values that every type represents exactly, with a sign where the type has one.
        var values = arange(shape.Aggregate(1L, (a, b) => a * b), dtype: ScalarType.Int64).reshape(shape);
        return type switch
        {
            ScalarType.Bool => values.remainder(3).eq(0),
            ScalarType.Byte => values.remainder(251).to_type(type),
            ScalarType.Int8 => values.remainder(120).sub(60).to_type(type),
            _ => values.sub(7).to_type(type),
        };
    }

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Every_dtype_round_trips_bit_exactly_with_its_header_name(ScalarType type, string headerName)
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("t.safetensors");
        var a = Sample(type, 3, 5);
        var scalar = Sample(type, 1).reshape(Array.Empty<long>());
        var empty = zeros(new long[] { 0, 4 }, dtype: type);
        SafetensorsWriter.Write(path, [("a", a), ("scalar", scalar), ("empty", empty)]);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(headerName, file.Info("a").DType.Name);
        Assert.Equal(new long[] { 3, 5 }, file.Info("a").Shape);
        Assert.Empty(file.Info("scalar").Shape);
        Assert.True(file.Read("a").Equals(a));
        Assert.True(file.Read("scalar").Equals(scalar));
        Assert.Equal(new long[] { 0, 4 }, file.Read("empty").shape);
    }

    [Fact]
    public void Metadata_round_trips_and_the_header_is_padded_so_data_starts_at_a_multiple_of_eight()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("m.safetensors");
        SafetensorsWriter.Write(path, [("x", ones(3, dtype: ScalarType.Float16)), ("y", ones(1, dtype: ScalarType.Float64))],
                                new Dictionary<string, string> { ["format"] = "pt", ["note"] = "hello" });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Header.Metadata["format"]);
        Assert.Equal("hello", file.Header.Metadata["note"]);
        Assert.Equal(0, file.Header.DataStart % 8);
        // Larger elements first: the F64 tensor starts the data section, so both are aligned to their size.
        Assert.Equal(0, file.Info("y").Begin);
        Assert.Equal(8, file.Info("x").Begin);
    }

    [Fact]
    public void Reading_converts_to_the_requested_dtype_and_copies_row_slices_into_smaller_destinations()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("c.safetensors");
        var w = arange(24, dtype: ScalarType.Float32).reshape(6, 4);
        SafetensorsWriter.Write(path, [("w", w)], dtype: ScalarType.BFloat16);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("BF16", file.Info("w").DType.Name);
        var asFloat = file.Read("w", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, asFloat.dtype);
        Assert.True(asFloat.Equals(w));

        var rows = empty(2, 4, dtype: ScalarType.Float64);
        file.CopyTo("w", rows, elementOffset: 3 * 4); // rows 3 and 4
        Assert.True(rows.Equals(w.narrow(0, 3, 2).to_type(ScalarType.Float64)));
    }

    [Fact]
    public void Tensors_that_are_not_aligned_to_their_element_size_are_still_read_correctly()
    {
        // The format allows any offsets; our writer aligns, so build an unaligned file by hand.
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("u.safetensors");
        float[] values = [1.5f, -2.25f, 3.125f];
        var data = new byte[1 + values.Length * 4];
        data[0] = 42; // one U8 element first pushes the F32 tensor to an odd offset
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(1 + 4 * i), values[i]);
        string header = "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}," +
                        "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}}";
        RawSafetensors.Write(path, header, data);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(values, file.Read("f").data<float>().ToArray());
        Assert.Equal(42, file.Read("b").item<byte>());
    }

    [Fact]
    public void Reading_works_on_read_only_files_and_never_modifies_them()
    {
        if (OperatingSystem.IsWindows()) return; // Unix permissions
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string path = dir.File("r.safetensors");
        SafetensorsWriter.Write(path, [("x", arange(10, dtype: ScalarType.Float32))]);
        byte[] before = File.ReadAllBytes(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        using (var file = SafetensorsFile.Open(path))
        {
            var x = file.Read("x");
            x.add_(1); // the result is a copy: writing to it must not reach the file
        }
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}

/// <summary>Writes safetensors files byte by byte, for tests that need headers our writer would never produce.</summary>
internal static class RawSafetensors
{
    public static void Write(string path, string headerJson, byte[] data) =>
        Write(path, Encoding.UTF8.GetBytes(headerJson), data);

    public static void Write(string path, byte[] header, byte[] data, ulong? declaredLength = null)
    {
        using var stream = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, declaredLength ?? (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        stream.Write(data);
    }

    public static string Entry(string dtype, long[] shape, long begin, long end) =>
        JsonSerializer.Serialize(new { dtype, shape, data_offsets = new[] { begin, end } });
}
