using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// Exports with PEFT adapters merged: the merged Hugging Face folder and the merged GGUF file (in llama.cpp) give the
/// logits of the base model with the adapters applied on the fly, for LoRA, DoRA, rsLoRA and modules_to_save,
/// several adapters merging in order.
/// </summary>
public class AdapterMergeTests
{
    public AdapterMergeTests() => Torch.EnsureReady();

    /// <summary>Writes a trained-looking PEFT adapter for the model in <paramref name="baseFolder"/>.</summary>
    internal static string MakeAdapter(TempDirectory dir, string baseFolder, string name, LoraSettings settings, string[] targets,
                                       ulong seed, string[]? modulesToSave = null)
    {
        using var loaded = HfModelLoader.Load(baseFolder, ScalarType.Float32, CPU);
        var model = loaded.Model;
        var projections = AdapterTargets.Resolve(model, targets);
        LoraAdapter.Attach(model, settings, projections);
        using (no_grad())
        using (var generator = new Generator(seed))
        {
            // B starts at zero and DoRA's magnitude at the row norms: move both, as training would.
            foreach (var (_, layer) in LoraAdapter.Layers(model))
            {
                layer.LoraB.copy_(empty(layer.LoraB.shape).normal_(0, 0.3, generator));
                layer.Magnitude?.mul_(empty(layer.Magnitude.shape).uniform_(0.7, 1.3, generator));
            }
            foreach (var (parameter, p) in model.NamedParameters())
                if ((modulesToSave ?? []).Any(m => parameter.StartsWith(m, StringComparison.Ordinal) || parameter.Contains("." + m + ".", StringComparison.Ordinal)))
                    p.add_(empty(p.shape).normal_(0, 0.05, generator));
        }
        string folder = dir.File(name);
        PeftAdapterFiles.Save(model, folder, new PeftAdapterConfig
        {
            Rank = settings.Rank, Alpha = settings.Alpha, UseDora = settings.UseDora, UseRsLora = settings.UseRsLora,
            TargetModules = AdapterTargets.ShortNames(projections), ModulesToSave = modulesToSave ?? [], BaseModelNameOrPath = baseFolder,
        });
        return folder;
    }

    /// <summary>Logits (1, T, vocab) of the base with the adapters loaded on the fly (each loaded onto the previous, as PEFT stacks them).</summary>
    static Tensor OnTheFly(string baseFolder, IEnumerable<string> adapters, Tensor ids)
    {
        using var loaded = HfModelLoader.Load(baseFolder, ScalarType.Float32, CPU);
        foreach (string adapter in adapters) PeftAdapterFiles.Load(loaded.Model, adapter);
        Assert.NotEmpty(LoraAdapter.Layers(loaded.Model));
        return loaded.Model.Forward(ids);
    }

    static Tensor Ids() => tensor(new long[] { 4, 8, 15, 16, 23, 42, 108, 7, 300 }).unsqueeze(0);   // (1, 9)

    [Fact]
    public void A_Hugging_Face_export_merges_LoRA_then_DoRA_in_order_and_reloads_with_the_on_the_fly_logits()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string model = ModelExporterTests.TinyModel(dir, "qwen2");     // q/k/v biases stay through the merge
        string lora = MakeAdapter(dir, model, "lora", new LoraSettings(4, 8, UseRsLora: true), ["q_proj", "v_proj", "down_proj"], 1,
                                  modulesToSave: ["lm_head"]);
        string dora = MakeAdapter(dir, model, "dora", new LoraSettings(2, 4, UseDora: true), ["all"], 2);
        var ids = Ids();
        var expected = OnTheFly(model, [lora, dora], ids);
        using (var plain = HfModelLoader.Load(model, ScalarType.Float32, CPU))
            Assert.False(plain.Model.Forward(ids).allclose(expected, rtol: 0, atol: 1e-2), "the adapters must change the logits");

        string output = dir.File("merged");
        var lines = new List<string>();
        new ModelExporter().Export(new ExportRequest { ModelDirectory = model, Adapters = [lora, dora], OutputDirectory = output },
                                   new Inline(lines.Add));
        Assert.Contains(lines, l => l.StartsWith($"merged adapter {lora}: 6 projections (r=4, modules_to_save lm_head)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"merged adapter {dora}: 14 projections (r=2, DoRA)", StringComparison.Ordinal));

        using var exported = HfModelLoader.Load(output, device: CPU);
        Assert.Empty(LoraAdapter.Layers(exported.Model));
        TinyModels.Close(expected, exported.Model.Forward(ids), 1e-4, "exported vs base + adapters on the fly");
        Assert.DoesNotContain(Directory.GetFiles(output), f => f.Contains("adapter", StringComparison.Ordinal));
    }

    [Fact]
    public void A_GGUF_export_with_a_merged_adapter_gives_llama_cpp_the_on_the_fly_logits()
    {
        using var dir = new TempDirectory();
        using var scope = NewDisposeScope();
        string model = ModelExporterTests.TinyModel(dir, "llama");     // permuted q/k rows after the merge
        string adapter = MakeAdapter(dir, model, "adapter", new LoraSettings(4, 16, UseDora: true), ["all"], 3);
        var ids = Ids();
        var expected = OnTheFly(model, [adapter], ids)[0];                                     // (T, vocab)

        string output = dir.File("gguf");
        var result = new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = model, Adapters = [adapter], OutputDirectory = output, Format = LlamaBoard.Engine.Configuration.ExportFormat.Gguf,
            GgufType = GgmlType.F32,
        });
        using var llama = LlamaCpp.Load(result.Files.Single(f => f.EndsWith(".gguf", StringComparison.Ordinal)));
        var actual = llama.Logits(ids[0].data<long>().Select(i => (int)i).ToList());
        var engine = Enumerable.Range(0, (int)ids.shape[1]).Select(t => expected[t].data<float>().ToArray()).ToArray();
        var (worst, relative) = GgufLlamaCppTests.Compare(engine, actual);
        Assert.True(relative <= 1e-5, $"llama.cpp on the merged GGUF differs from the engine with the adapter by {worst:G3} (relative {relative:G3}).");
    }

    [Fact]
    public void A_folder_that_is_not_a_PEFT_adapter_is_named_before_anything_is_written()
    {
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir);
        string notAdapter = Directory.CreateDirectory(dir.File("checkpoint-10")).FullName;
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = model, Adapters = [notAdapter], OutputDirectory = dir.File("out"),
        }));
        Assert.Contains("checkpoint-10", e.Message);
        Assert.Contains("adapter_config.json", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void An_adapter_of_another_base_model_fails_with_its_tensors_named_and_leaves_nothing()
    {
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir, "qwen3", name: "small");
        string other = dir.File("wide");
        ModelScaffold.Create(new ModelScaffoldOptions("qwen3", new ModelShape(48, 2, 4, 2, 64, 0, HeadDim: 16), other));
        string adapter = MakeAdapter(dir, other, "adapter", new LoraSettings(2, 4), ["q_proj"], 4);
        var e = Assert.Throws<InvalidDataException>(() => new ModelExporter().Export(new ExportRequest
        {
            ModelDirectory = model, Adapters = [adapter], OutputDirectory = dir.File("out"),
        }));
        Assert.Contains("mis-shaped", e.Message);
        Assert.Contains("q_proj.lora_A.weight", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
        Assert.Equal(["adapter", "small", "wide"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Merging_folds_every_LoRA_layer_and_refuses_other_wrappers_by_name()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("llama");
        var ids = TinyModels.Ids(1, 6);
        var targets = AdapterTargets.Resolve(model, ["q_proj", "o_proj"]);
        LoraAdapter.Attach(model, new LoraSettings(2, 4), targets);
        using (no_grad())
            foreach (var (_, layer) in LoraAdapter.Layers(model)) layer.LoraB.fill_(0.05);
        var wrapped = model.Forward(ids);
        Assert.Equal(targets, AdapterMerge.MergeInto(model));
        TinyModels.Close(wrapped, model.Forward(ids), 1e-5, "merged vs wrapped");
        using var blank = DecoderModel.Create(model.Config, ScalarType.Float32, META);
        Assert.Equal(blank.NamedParameters().Select(p => p.Name), model.NamedParameters().Select(p => p.Name));

        model.ReplaceProjection("model.layers.1.mlp.up_proj", new ScaledProjection(model.GetProjection("model.layers.1.mlp.up_proj"), 2.0));
        var e = Assert.Throws<InvalidOperationException>(() => AdapterMerge.MergeInto(model));
        Assert.Contains("model.layers.1.mlp.up_proj", e.Message);
        Assert.Contains(nameof(ScaledProjection), e.Message);
    }

    sealed class Inline(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
