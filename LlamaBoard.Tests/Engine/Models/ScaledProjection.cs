using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>A stand-in for a LoRA wrapper: the original projection plus a trainable scale on its output.</summary>
internal sealed class ScaledProjection : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "inner")] readonly nn.Module<Tensor, Tensor> inner;
    [ComponentName(Name = "scale")] readonly Parameter scale;

    public ScaledProjection(nn.Module<Tensor, Tensor> inner, double scale) : base(nameof(ScaledProjection))
    {
        this.inner = inner;
        this.scale = new Parameter(tensor(scale, dtype: ScalarType.Float32));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => inner.call(x) * scale;
}
