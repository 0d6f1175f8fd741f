using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Helpers for swapping a registered child module while keeping its name and position.</summary>
internal static class ModuleSlots
{
    /// <summary>Creates a bias-optional linear layer with uninitialised (empty) parameters.</summary>
    public static Linear EmptyLinear(long inFeatures, long outFeatures, bool bias, ScalarType dtype, Device device) =>
        nn.Linear(new Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device)),
                  bias ? new Parameter(empty(outFeatures, dtype: dtype, device: device)) : null);

    /// <summary>
    /// Re-registers child <paramref name="name"/> as <paramref name="replacement"/> at the same position, so
    /// parameter names (for example "q_proj.weight" → "q_proj.base_layer.weight" for a wrapper) and their order
    /// stay predictable.
    /// </summary>
    public static void Replace(TorchSharp.Utils.OrderedDict<string, nn.Module> children, string name,
                               nn.Module replacement, Action<string, nn.Module?> register)
    {
        int index = children.Keys.ToList().IndexOf(name);
        if (index < 0) throw new ArgumentException($"No child module named '{name}'.", nameof(name));
        register(name, null);          // unregisters
        register(name, replacement);   // registers (and lets the replacement register its own components), at the end
        var moved = children[children.Count - 1];
        children.RemoveAt(children.Count - 1);
        children.Insert(index, moved);
    }
}
