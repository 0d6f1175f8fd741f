using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>
/// The tiny model the PyTorch reference scripts rebuild: a 2-layer llama (hidden 32) saved to <c>model/</c>, with LoRA
/// (r 4, alpha 8) on every linear layer and random B (a zero B would hide LoRA bugs) saved to <c>adapter/</c>. The base
/// is frozen and the LoRA matrices train.
/// </summary>
internal sealed record ReferenceLoraModel(DecoderModel Model, string ModelDir, string AdapterDir, IReadOnlyList<TorchSharp.Modules.Parameter> LoraParameters) : IDisposable
{
    public static ReferenceLoraModel Create(TempDirectory dir)
    {
        string modelDir = dir.File("model"), adapterDir = dir.File("adapter");
        ModelScaffold.Create(new ModelScaffoldOptions("llama", new ModelShape(32, 2, 4, 2, 64, 128), modelDir) { Seed = 5, IncludeTinyTokenizer = false });
        var model = HfModelLoader.Load(modelDir, ScalarType.Float32, CPU).Model;
        foreach (var (_, p) in model.NamedParameters()) p.requires_grad = false;
        manual_seed(3);
        LoraAdapter.Attach(model, new LoraSettings(4, 8), AdapterTargets.Resolve(model, ["all"]));
        using (no_grad())
            foreach (var (_, layer) in LoraAdapter.Layers(model)) layer.LoraB.normal_(0, 0.05);
        PeftAdapterFiles.Save(model, adapterDir, new PeftAdapterConfig { Rank = 4, Alpha = 8, TargetModules = ["all"] });
        var lora = LoraAdapter.Layers(model).SelectMany(l => l.Layer.AdapterParameters()).ToList();
        foreach (var p in lora) p.requires_grad = true;
        return new ReferenceLoraModel(model, modelDir, adapterDir, lora);
    }

    public void Dispose() => Model.Dispose();
}
