using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>MLP gate activations by their Hugging Face names (hidden_act / hidden_activation).</summary>
public static class Activations
{
    static readonly Dictionary<string, Func<Tensor, Tensor>> Registry = new(StringComparer.Ordinal)
    {
        ["silu"] = x => nn.functional.silu(x),
        ["swish"] = x => nn.functional.silu(x),
        // transformers' "gelu_pytorch_tanh", "gelu_new" and "gelu_fast" are all the tanh approximation.
        ["gelu_pytorch_tanh"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["gelu_new"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["gelu_fast"] = x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        ["gelu"] = x => nn.functional.gelu(x),
        ["relu"] = x => nn.functional.relu(x),
    };

    /// <summary>Known names.</summary>
    public static IReadOnlyCollection<string> Names => Registry.Keys;

    /// <summary>True when <paramref name="name"/> is known.</summary>
    public static bool IsKnown(string name) => Registry.ContainsKey(name);

    /// <summary>The activation function called <paramref name="name"/>.</summary>
    public static Func<Tensor, Tensor> Get(string name) =>
        Registry.TryGetValue(name, out var f) ? f
            : throw new ArgumentException($"Unknown activation '{name}' (known: {string.Join(", ", Names)}).", nameof(name));
}
