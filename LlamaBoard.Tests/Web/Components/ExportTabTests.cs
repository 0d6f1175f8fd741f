using Bunit;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web.Components.Board;
using LlamaBoard.Web.Services;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Web.Components;

/// <summary>The Export tab rendered with bUnit over the engine's real exporter: checks before Export, results, errors.</summary>
public class ExportTabTests
{
    static async Task<(BunitContext Context, IRenderedComponent<ExportTab> Tab, BoardState State)> RenderAsync(TempWorkspace workspace, string? model = null)
    {
        var context = await BoardTestContext.CreateAsync(workspace);
        context.Render<MudPopoverProvider>();
        var state = context.Services.GetRequiredService<BoardState>();
        if (model is not null)
        {
            state.Options.Model.ModelNameOrPath = model;
            state.NotifyChanged();
        }
        return (context, context.Render<ExportTab>(), state);
    }

    static string Demo(TempWorkspace workspace)
    {
        string demo = Path.Combine(workspace.Root, "models", "demo");
        DemoModel.EnsureCreated(demo);
        return demo;
    }

    [Fact]
    public async Task Without_an_export_dir_Export_is_disabled_and_the_reason_is_shown()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, _) = await RenderAsync(workspace, Demo(workspace));
        await using var _ = context;

        Assert.True(tab.Find(".btn-export").HasAttribute("disabled"));
        Assert.True(tab.Find(".btn-export-cancel").HasAttribute("disabled"));
        Assert.Contains(tab.FindAll(".export-error"), e => e.TextContent.Contains("export_dir", StringComparison.Ordinal));
        Assert.Empty(tab.FindAll(".export-files"));
    }

    [Fact]
    public async Task A_Hugging_Face_export_merges_the_chosen_adapter_and_lists_the_files_with_their_sizes()
    {
        using var workspace = new TempWorkspace();
        string demo = Demo(workspace);
        string adapter = AdapterFixtures.Write(demo, Path.Combine(workspace.Root, "adapter"), ["q_proj"], rank: 2, dora: false, seed: 4);
        var (context, tab, state) = await RenderAsync(workspace, demo);
        await using var _ = context;
        string exportDir = Path.Combine(workspace.Root, "exported");
        state.Options.Model.AdapterNameOrPath = [adapter];
        state.Options.Model.InferDType = InferDType.Float32;
        state.Options.Export.ExportDir = exportDir;
        state.NotifyChanged();
        tab.WaitForState(() => !tab.Find(".btn-export").HasAttribute("disabled"));

        tab.Find(".btn-export").Click();
        tab.WaitForState(() => tab.FindAll(".export-done").Count == 1, TimeSpan.FromSeconds(60));
        var rows = tab.FindAll(".export-file").Select(r => r.TextContent).ToList();
        Assert.Contains(rows, r => r.Contains("model.safetensors", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("config.json", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("tokenizer.json", StringComparison.Ordinal));
        foreach (var file in Directory.GetFiles(exportDir))
            Assert.Contains(rows, r => r.Contains(file, StringComparison.Ordinal));
        Assert.Contains("exported", tab.Find(".export-done").TextContent, StringComparison.Ordinal);
        Assert.Contains("loading", tab.Find(".export-log").TextContent, StringComparison.Ordinal);

        // The adapter was merged: the exported q_proj differs from the base's, the untouched k_proj does not.
        using var original = HfModelLoader.Load(demo, ScalarType.Float32, CPU);
        using var exported = HfModelLoader.Load(exportDir, ScalarType.Float32, CPU);
        var a = original.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var b = exported.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        Assert.False(a["model.layers.0.self_attn.q_proj.weight"].allclose(b["model.layers.0.self_attn.q_proj.weight"]));
        Assert.True(a["model.layers.0.self_attn.k_proj.weight"].allclose(b["model.layers.0.self_attn.k_proj.weight"], rtol: 0, atol: 0));
    }

    [Fact]
    public async Task A_GGUF_export_writes_the_file_and_an_Ollama_Modelfile()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, state) = await RenderAsync(workspace, Demo(workspace));
        await using var _ = context;
        state.Options.Export.ExportDir = Path.Combine(workspace.Root, "gguf");
        state.Options.Export.ExportFormat = ExportFormat.Gguf;
        state.Options.Export.ExportGgufType = GgufType.Q8_0;
        state.Options.Data.Template = "qwen3";
        state.NotifyChanged();
        tab.WaitForState(() => !tab.Find(".btn-export").HasAttribute("disabled"));

        tab.Find(".btn-export").Click();
        tab.WaitForState(() => tab.FindAll(".export-done").Count == 1, TimeSpan.FromSeconds(60));
        var rows = tab.FindAll(".export-file").Select(r => r.TextContent).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Contains(rows, r => r.Contains(".gguf", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("Modelfile", StringComparison.Ordinal));
        string gguf = Directory.GetFiles(state.Options.Export.ExportDir!, "*.gguf").Single();
        Assert.Equal("GGUF"u8.ToArray(), File.ReadAllBytes(gguf)[..4]);
    }

    [Fact]
    public async Task A_non_empty_export_folder_is_refused_with_the_folder_named()
    {
        using var workspace = new TempWorkspace();
        var (context, tab, state) = await RenderAsync(workspace, Demo(workspace));
        await using var _ = context;
        string occupied = Directory.CreateDirectory(Path.Combine(workspace.Root, "occupied")).FullName;
        File.WriteAllText(Path.Combine(occupied, "keep.txt"), "mine");
        state.Options.Export.ExportDir = occupied;
        state.NotifyChanged();
        tab.WaitForState(() => !tab.Find(".btn-export").HasAttribute("disabled"));

        tab.Find(".btn-export").Click();
        tab.WaitForState(() => tab.FindAll(".export-failed").Count == 1, TimeSpan.FromSeconds(60));
        Assert.Contains(occupied, tab.Find(".export-failed").TextContent, StringComparison.Ordinal);
        Assert.Empty(tab.FindAll(".export-files"));
        Assert.Equal(["keep.txt"], Directory.GetFiles(occupied).Select(Path.GetFileName));
    }
}
