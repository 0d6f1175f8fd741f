using System.Text.Json.Nodes;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>The export recipe: Hugging Face folders (sharded, dtype, tokenizer), atomic destinations, merges, GGUF.</summary>
public class ModelExporterTests
{
    public ModelExporterTests() => Torch.EnsureReady();

    /// <summary>A tiny model folder with the built-in ChatML tokenizer (what <c>llamaboard init-model</c> writes).</summary>
    internal static string TinyModel(TempDirectory dir, string family = "qwen3", ScalarType dtype = ScalarType.Float32, string name = "tiny")
    {
        string folder = dir.File(name);
        var shape = TinyModels.Shape(family) with { VocabSize = 0 };
        ModelScaffold.Create(new ModelScaffoldOptions(family, shape, folder) { DType = dtype, Seed = 3, ConfigOverrides = TinyModels.Overrides(family) });
        return folder;
    }

    static Tensor Ids() => tensor(new long[] { 5, 17, 200, 3, 99, 41, 7 }).unsqueeze(0);   // (1, 7)

    [Fact]
    public void A_Hugging_Face_export_is_sharded_in_the_requested_dtype_with_tokenizer_and_reloads_with_the_same_logits()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir);
        string output = dir.File("out");
        var result = new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = model, OutputDirectory = output, DType = ScalarType.BFloat16, MaxShardBytes = 30_000,
        });

        Assert.Equal(Path.GetFullPath(output), result.OutputDirectory);
        string[] names = Directory.GetFiles(output).Select(Path.GetFileName).ToArray()!;
        Assert.Contains("model.safetensors.index.json", names);
        Assert.True(names.Count(n => n!.StartsWith("model-0000", StringComparison.Ordinal)) > 1, string.Join(", ", names));
        foreach (string file in new[] { "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json" })
            Assert.Contains(file, names);
        Assert.Equal(names.Order(), result.Files.Select(Path.GetFileName).Order());
        Assert.Equal("bfloat16", JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!["torch_dtype"]!.GetValue<string>());
        Assert.Equal(LlamaBoard.Engine.Tokenization.HfTokenizer.Load(model).ChatTemplate,
                     LlamaBoard.Engine.Tokenization.HfTokenizer.Load(output).ChatTemplate);

        using var scope = NewDisposeScope();
        using var original = HfModelLoader.Load(model, ScalarType.BFloat16, CPU);
        using var exported = HfModelLoader.Load(output, device: CPU);
        Assert.Equal(ScalarType.BFloat16, exported.Model.DType);
        Assert.True(original.Model.Forward(Ids()).Equals(exported.Model.Forward(Ids())));
        Assert.Empty(Directory.GetDirectories(dir.Path, ".out.*"));
    }

    [Fact]
    public void A_non_empty_export_dir_is_refused_unless_overwrite_is_set_and_then_replaced_whole()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir);
        string output = dir.File("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "keep me");
        var request = new ExportRequest { ModelDirectory = model, OutputDirectory = output };

        var e = Assert.Throws<IOException>(() => new ModelExporter().Export(request));
        Assert.Contains("export_overwrite", e.Message);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(output, "notes.txt")));

        new ModelExporter().Export(request with { Overwrite = true });
        Assert.False(File.Exists(Path.Combine(output, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        // No staging or replaced folder left beside them.
        Assert.Equal(["out", "tiny"], Directory.GetDirectories(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void An_empty_existing_export_dir_is_used()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir);
        string output = dir.File("empty");
        Directory.CreateDirectory(output);
        new ModelExporter().Export(new ExportRequest { ModelDirectory = model, OutputDirectory = output });
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Theory]
    [InlineData(ExportFormat.HuggingFace, "writing a Hugging Face folder")]
    [InlineData(ExportFormat.Gguf, "writing GGUF")]
    public void A_cancelled_export_leaves_nothing_behind(ExportFormat format, string cancelAt)
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir);
        string output = dir.File("out");
        using var cancel = new CancellationTokenSource();
        var progress = new Inline(line => { if (line.StartsWith(cancelAt, StringComparison.Ordinal)) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => new ModelExporter().Export(
            new ExportRequest { ModelDirectory = model, OutputDirectory = output, Format = format }, progress, cancel.Token));
        Assert.False(Directory.Exists(output));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path)); // the model folder; no staging folder
    }

    [Fact]
    public void A_full_disk_while_writing_a_GGUF_file_leaves_no_partial_file()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir);
        string output = dir.File("gguf");
        Directory.CreateDirectory(output);
        using var loaded = HfModelLoader.Load(model, ScalarType.Float32, CPU);
        var e = Assert.Throws<IOException>(() => GgufExporter.Export(loaded.Model, model, output, GgmlType.F16, "tiny", null, null,
                                                                       CancellationToken.None, wrap: s => new FullDisk(s, 50_000)));
        Assert.Contains("No space left", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(output));
    }

    [Fact]
    public void A_GGUF_export_writes_the_file_and_an_Ollama_Modelfile_into_export_dir()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir, name: "my-model");
        string output = dir.File("gguf");
        var result = new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = model, OutputDirectory = output, Format = ExportFormat.Gguf, GgufType = GgmlType.Q8_0,
        });
        Assert.Equal(["Modelfile", "my-model-Q8_0.gguf"], Directory.GetFiles(output).Select(Path.GetFileName).Order());
        Assert.Equal(Directory.GetFiles(output).Order(), result.Files.Order());
        var file = GgufReader.Read(Path.Combine(output, "my-model-Q8_0.gguf"));
        Assert.Equal("qwen3", file.Metadata["general.architecture"]);
        Assert.Equal("my-model", file.Metadata["general.name"]);
        Assert.Equal(7u, file.Metadata["general.file_type"]);
        Assert.Equal(2u, file.Metadata["general.quantization_version"]);

        string modelfile = File.ReadAllText(Path.Combine(output, "Modelfile"));
        Assert.Contains("FROM ./my-model-Q8_0.gguf\n", modelfile);
        Assert.Contains("TEMPLATE \"\"\"{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}", modelfile);
        Assert.Contains("PARAMETER stop \"<|im_end|>\"\n", modelfile);
    }

    [Theory]
    [InlineData("llama", GgmlType.Q8_0)]   // permuted q/k rows
    [InlineData("gemma2", GgmlType.F16)]   // 1 + w norms
    [InlineData("phi3", GgmlType.Q4_0)]    // fused tensors
    public void A_GGUF_export_leaves_no_tensor_alive(string family, GgmlType type)
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir, family);
        using var loaded = HfModelLoader.Load(model, ScalarType.Float32, CPU);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        GgufExporter.Export(loaded.Model, model, dir.Path, type, "leak");
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Missing_folders_are_named()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = dir.File("nope"), OutputDirectory = dir.File("out"),
        }));
        Assert.Contains("model_name_or_path", e.Message);
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public void The_request_comes_from_LLaMA_Factory_export_keys()
    {
        var options = OptionsLoader.FromOverrides([
            "model_name_or_path=models/demo", "adapter_name_or_path=a,b", "export_dir=out", "export_size=2",
            "export_format=gguf", "export_gguf_type=q4_0", "export_overwrite=true", "template=llama3", "infer_dtype=bfloat16",
        ]).Options;
        var request = ExportRequest.FromOptions(options);
        Assert.Equal("models/demo", request.ModelDirectory);
        Assert.Equal(["a", "b"], request.Adapters);
        Assert.Equal("out", request.OutputDirectory);
        Assert.Equal(2_000_000_000L, request.MaxShardBytes);
        Assert.Equal(ExportFormat.Gguf, request.Format);
        Assert.Equal(GgmlType.Q4_0, request.GgufType);
        Assert.True(request.Overwrite);
        Assert.Equal("llama3", request.TemplateName);
        Assert.Equal(ScalarType.BFloat16, request.DType);
        Assert.Equal("cpu", request.Device);
    }

    sealed class Inline(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }

    /// <summary>A stream that fails like a full disk after <paramref name="capacity"/> bytes.</summary>
    sealed class FullDisk(Stream inner, long capacity) : Stream
    {
        long written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (written + buffer.Length > capacity) throw new IOException("No space left on device");
            inner.Write(buffer);
            written += buffer.Length;
        }
    }
}
