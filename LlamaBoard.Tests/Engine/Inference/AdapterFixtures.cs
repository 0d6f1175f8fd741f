using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Inference;

/// <summary>Random PEFT adapters for a model folder, written as training would write them.</summary>
internal static class AdapterFixtures
{
    /// <summary>
    /// Writes a LoRA (or DoRA) adapter for the model in <paramref name="modelFolder"/> on <paramref name="targets"/> with
    /// random, non-zero A and B, so the adapter visibly changes the model's output.
    /// </summary>
    public static string Write(string modelFolder, string adapterFolder, IReadOnlyList<string> targets, int rank, bool dora, ulong seed)
    {
        using var loaded = HfModelLoader.Load(modelFolder, ScalarType.Float32, CPU);
        var model = loaded.Model;
        var projections = AdapterTargets.Resolve(model, targets);
        var settings = new LoraSettings(rank, 2.0 * rank, UseDora: dora);
        var layers = LoraAdapter.Attach(model, settings, projections);
        using (no_grad())
        using (var generator = new Generator(seed))
        {
            foreach (var layer in layers)
            {
                layer.LoraA.normal_(0, 0.2, generator);
                layer.LoraB.normal_(0, 0.2, generator);
                if (layer.Magnitude is { } m) m.mul_(empty(m.shape).uniform_(0.8, 1.2, generator));
            }
        }
        PeftAdapterFiles.Save(model, adapterFolder, new PeftAdapterConfig
        {
            Rank = rank, Alpha = settings.Alpha, UseDora = dora, TargetModules = AdapterTargets.ShortNames(projections),
            BaseModelNameOrPath = modelFolder,
        });
        return adapterFolder;
    }
}
