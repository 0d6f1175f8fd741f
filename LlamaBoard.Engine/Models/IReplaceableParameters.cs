using TorchSharp.Modules;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// A module whose own parameters can be swapped for new ones (for example converted copies when a trainer keeps
/// frozen weights in bf16 and trainable ones in fp32). Modules inserted into a <see cref="DecoderModel"/> (LoRA
/// wrappers, …) implement it so that <see cref="DecoderModel.CastParameters"/> can reach their parameters.
/// </summary>
public interface IReplaceableParameters
{
    /// <summary>Replaces the parameter registered under <paramref name="localName"/> (for example "weight").</summary>
    void ReplaceParameter(string localName, Parameter replacement);
}
