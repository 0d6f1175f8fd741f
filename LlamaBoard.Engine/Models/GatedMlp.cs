using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// The gated feed-forward block: down_proj(act(gate_proj(x)) · up_proj(x)). With SiLU this is SwiGLU
/// (Llama, Qwen, Mistral, Phi-3); with tanh-approximated GELU it is GeGLU (Gemma).
/// </summary>
public sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    /// <summary>HF names of the projections, in checkpoint order.</summary>
    public static readonly IReadOnlyList<string> ProjectionNames = ["gate_proj", "up_proj", "down_proj"];

    [ComponentName(Name = "gate_proj")] nn.Module<Tensor, Tensor> gateProj;
    [ComponentName(Name = "up_proj")] nn.Module<Tensor, Tensor> upProj;
    [ComponentName(Name = "down_proj")] nn.Module<Tensor, Tensor> downProj;
    readonly Func<Tensor, Tensor> activation;

    /// <summary>Creates the block with uninitialised weights.</summary>
    public GatedMlp(ModelConfig config, ScalarType dtype, Device device) : base(nameof(GatedMlp))
    {
        gateProj = ModuleSlots.EmptyLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        upProj = ModuleSlots.EmptyLinear(config.HiddenSize, config.IntermediateSize, config.MlpBias, dtype, device);
        downProj = ModuleSlots.EmptyLinear(config.IntermediateSize, config.HiddenSize, config.MlpBias, dtype, device);
        activation = Activations.Get(config.Activation);
        RegisterComponents();
    }

    /// <summary>x (B, T, hidden) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var gated = activation(gateProj.call(x)) * upProj.call(x);   // (B, T, intermediate)
        return downProj.call(gated).MoveToOuterDisposeScope();
    }

    /// <summary>The projection called <paramref name="name"/> (gate_proj, up_proj or down_proj).</summary>
    public nn.Module<Tensor, Tensor> Projection(string name) => name switch
    {
        "gate_proj" => gateProj,
        "up_proj" => upProj,
        "down_proj" => downProj,
        _ => throw new ArgumentException($"The MLP has no projection '{name}' (it has {string.Join(", ", ProjectionNames)}).", nameof(name)),
    };

    /// <summary>Swaps projection <paramref name="name"/> for a module with the same input and output.</summary>
    public void ReplaceProjection(string name, nn.Module<Tensor, Tensor> replacement)
    {
        _ = Projection(name);
        switch (name)
        {
            case "gate_proj": gateProj = replacement; break;
            case "up_proj": upProj = replacement; break;
            default: downProj = replacement; break;
        }
        ModuleSlots.Replace(_internal_submodules, name, replacement, register_module!);
    }
}
