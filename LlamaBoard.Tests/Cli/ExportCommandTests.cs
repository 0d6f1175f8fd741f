using LlamaBoard.Cli;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Export;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary><c>llamaboard export</c>: real exports from a YAML config, refusals, failures and Ctrl+C.</summary>
public class ExportCommandTests
{
    public ExportCommandTests() => Torch.EnsureReady();

    static CliServices Services(IModelExporter exporter, ManualInterrupts? interrupts = null) =>
        new() { CreateExporter = () => exporter, Interrupts = interrupts ?? new ManualInterrupts() };

    static string Config(TempDirectory dir, string model, string output, params string[] extra)
    {
        string path = dir.File("export.yaml");
        File.WriteAllText(path, $"model_name_or_path: {model}\nexport_dir: {output}\n" + string.Concat(extra.Select(e => e + "\n")));
        return path;
    }

    [Fact]
    public void Export_writes_a_Hugging_Face_folder_and_refuses_to_write_over_it_without_export_overwrite()
    {
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir);
        string output = dir.File("merged");
        string config = Config(dir, model, output, "export_size: 1", "infer_dtype: bfloat16");

        var (code, stdout, stderr) = Run(Services(new ModelExporter()), "export", config);
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains($"exported to {output}", stdout);
        Assert.Contains("  model.safetensors\n", stdout.ReplaceLineEndings("\n"));
        Assert.Contains("  tokenizer.json\n", stdout.ReplaceLineEndings("\n"));
        using (var loaded = HfModelLoader.Load(output, device: TorchSharp.torch.CPU))
            Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, loaded.Model.DType);

        (code, _, stderr) = Run(Services(new ModelExporter()), "export", config);
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("export failed:", stderr);
        Assert.Contains("export_overwrite", stderr);

        (code, _, stderr) = Run(Services(new ModelExporter()), "export", config, "export_overwrite=true");
        Assert.True(code == ExitCodes.Success, stderr);
    }

    [Fact]
    public void Export_writes_a_GGUF_file_and_Modelfile()
    {
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir, name: "demo");
        string output = dir.File("gguf");
        var (code, stdout, stderr) = Run(Services(new ModelExporter()), "export",
            Config(dir, model, output, "export_format: gguf", "export_gguf_type: bf16"));
        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("  demo-BF16.gguf", stdout);
        Assert.Contains("  Modelfile", stdout);
        Assert.True(File.Exists(Path.Combine(output, "demo-BF16.gguf")));
    }

    [Fact]
    public void A_model_llama_cpp_cannot_run_fails_with_the_reasons_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        string model = dir.File("biased");
        ModelScaffold.Create(new ModelScaffoldOptions("qwen3", new ModelShape(32, 2, 4, 2, 64, 0, HeadDim: 8), model)
        {
            ConfigOverrides = new() { ["attention_bias"] = true },
        });
        string output = dir.File("gguf");
        var (code, _, stderr) = Run(Services(new ModelExporter()), "export", Config(dir, model, output, "export_format: gguf"));
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Contains("cannot be exported to GGUF for llama.cpp's 'qwen3' architecture", stderr);
        Assert.Contains("bias on the q/k/v projections", stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Ctrl_C_cancels_the_export_and_says_export_dir_was_left_alone()
    {
        using var dir = new TempDirectory();
        var interrupts = new ManualInterrupts();
        var exporter = new WaitingExporter(interrupts);
        var (code, stdout, _) = Run(Services(exporter, interrupts), "export", Config(dir, dir.File("model"), dir.File("out")));
        Assert.Equal(ExitCodes.Aborted, code);
        Assert.Contains("export cancelled", stdout);
        Assert.False(interrupts.Listening);
    }

    /// <summary>Presses Ctrl+C once started, then waits for the cancellation.</summary>
    sealed class WaitingExporter(ManualInterrupts interrupts) : IModelExporter
    {
        public ExportResult Export(ExportRequest request, IProgress<string>? progress, CancellationToken cancellation)
        {
            progress?.Report("loading");
            Assert.True(interrupts.Press());
            cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            cancellation.ThrowIfCancellationRequested();
            throw new InvalidOperationException("not cancelled");
        }
    }
}
