using LlamaBoard.Engine.Models;

namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// LLaMA-Factory's <c>finetuning_type: freeze</c>: train only some decoder layers (the last n for
/// <c>freeze_trainable_layers: n</c>, the first n for <c>-n</c>), only some of their modules
/// (<c>freeze_trainable_modules</c>, "all" by default), plus extra non-layer modules (<c>freeze_extra_modules</c>,
/// e.g. embed_tokens, norm, lm_head). Everything else is frozen.
/// </summary>
public static class FreezeTuning
{
    /// <summary>Sets requires_grad on every parameter and returns the names of the trainable ones.</summary>
    /// <exception cref="ArgumentException">A module name that the model does not have; the message lists the valid ones.</exception>
    public static IReadOnlyList<string> Apply(DecoderModel model, int trainableLayers, IReadOnlyList<string> trainableModules,
                                              IReadOnlyList<string> extraModules)
    {
        int layerCount = model.Layers.Count;
        if (trainableLayers == 0)
            throw new ArgumentException("freeze_trainable_layers is 0: no layer would train. Use n > 0 for the last n layers or -n for the first n.");
        var layerIds = trainableLayers > 0
            ? Enumerable.Range(Math.Max(0, layerCount - trainableLayers), Math.Min(trainableLayers, layerCount))
            : Enumerable.Range(0, Math.Min(-trainableLayers, layerCount));

        // Module names inside a layer ("self_attn", "mlp", "input_layernorm", …) and outside ("embed_tokens", "norm", "lm_head").
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        var hiddenModules = names.Where(n => n.StartsWith("model.layers.", StringComparison.Ordinal))
                                 .Select(n => n.Split('.')[3]).Distinct().ToList();
        var outerModules = names.Where(n => !n.StartsWith("model.layers.", StringComparison.Ordinal))
                                .Select(n => n.Split('.') is ["model", var m, ..] ? m : n.Split('.')[0]).Distinct().ToList();

        bool allModules = trainableModules.Count == 0 || trainableModules.Any(m => m == "all");
        foreach (string module in trainableModules.Where(m => m != "all"))
            if (!hiddenModules.Contains(module))
                throw new ArgumentException($"freeze_trainable_modules '{module}' is not a module of the decoder layers; choose from: all, {string.Join(", ", hiddenModules)}.");
        foreach (string module in extraModules)
            if (!outerModules.Contains(module))
                throw new ArgumentException($"freeze_extra_modules '{module}' is not a module outside the decoder layers; choose from: {string.Join(", ", outerModules)}.");

        var prefixes = layerIds.SelectMany(id => allModules
            ? [$"model.layers.{id}."]
            : trainableModules.Select(m => $"model.layers.{id}.{m}.")).ToList();
        var trainable = new List<string>();
        foreach (var (name, parameter) in model.NamedParameters())
        {
            bool train = prefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal))
                         || extraModules.Any(m => name.StartsWith($"model.{m}.", StringComparison.Ordinal) || name.StartsWith($"{m}.", StringComparison.Ordinal));
            parameter.requires_grad = train;
            if (train) trainable.Add(name);
        }
        return trainable;
    }
}
