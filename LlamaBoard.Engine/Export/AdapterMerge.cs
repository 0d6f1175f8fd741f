using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Models;
using TorchSharp.Modules;

namespace LlamaBoard.Engine.Export;

/// <summary>
/// Folds PEFT adapters into the base weights for an export, as PEFT's <c>merge_and_unload</c> does and in the
/// order LLaMA-Factory merges <c>adapter_name_or_path</c>: each adapter is loaded around its target projections,
/// then every LoRA layer becomes a plain linear layer with W + ΔW (DoRA renormalised; computed in fp32, stored in
/// the model's dtype). Fully trained <c>modules_to_save</c> are written into the model by the loading itself.
/// Afterwards the model has exactly the parameters of its config, so it saves as a Hugging Face model or GGUF.
/// </summary>
public static class AdapterMerge
{
    /// <summary>Loads and merges the adapters in <paramref name="folders"/>, first to last.</summary>
    /// <exception cref="InvalidDataException">An adapter folder is not a PEFT LoRA adapter of this model (named).</exception>
    public static void MergeAdapters(DecoderModel model, IReadOnlyList<string> folders, IProgress<string>? progress = null,
                                     CancellationToken cancellation = default)
    {
        foreach (string folder in folders)
        {
            cancellation.ThrowIfCancellationRequested();
            var config = PeftAdapterFiles.Load(model, folder);
            var merged = MergeInto(model);
            progress?.Report($"merged adapter {folder}: {merged.Count} projections (r={config.Rank}" +
                             $"{(config.UseDora ? ", DoRA" : "")}{(config.ModulesToSave.Count > 0 ? $", modules_to_save {string.Join(",", config.ModulesToSave)}" : "")})");
        }
    }

    /// <summary>Folds every LoRA layer of <paramref name="model"/> into its base weight; returns the projections merged.</summary>
    /// <exception cref="InvalidOperationException">A projection is wrapped by something other than a LoRA layer.</exception>
    public static IReadOnlyList<string> MergeInto(DecoderModel model)
    {
        var foreign = model.NamedProjections().Where(p => p.Module is not Linear and not LoraLinear).ToList();
        if (foreign.Count > 0)
            throw new InvalidOperationException(
                $"'{foreign[0].Name}' is wrapped by {foreign[0].Module.GetType().Name}, which cannot be merged into a linear layer; " +
                "only LoRA/DoRA layers can.");
        var merged = LoraAdapter.Layers(model).Select(l => l.Name).ToList();
        LoraAdapter.MergeAll(model);
        return merged;
    }
}
