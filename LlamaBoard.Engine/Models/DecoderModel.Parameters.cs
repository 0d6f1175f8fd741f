using System.Text.RegularExpressions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

public sealed partial class DecoderModel
{
    /// <summary>
    /// Every linear projection by its HF module name, in checkpoint order: <c>model.layers.N.self_attn.q_proj</c>,
    /// k_proj, v_proj, o_proj, <c>model.layers.N.mlp.gate_proj</c>, up_proj, down_proj, and <c>lm_head</c> when it
    /// is not tied. These are the LoRA targets (PEFT's target_modules match their last part).
    /// </summary>
    public IEnumerable<(string Name, nn.Module<Tensor, Tensor> Module)> NamedProjections()
    {
        foreach (var layer in Layers)
        {
            foreach (string name in Attention.ProjectionNames)
                yield return ($"model.layers.{layer.Index}.self_attn.{name}", layer.SelfAttention.Projection(name));
            foreach (string name in GatedMlp.ProjectionNames)
                yield return ($"model.layers.{layer.Index}.mlp.{name}", layer.Mlp.Projection(name));
        }
        if (lmHead is not null) yield return ("lm_head", lmHead);
    }

    /// <summary>The projection called <paramref name="name"/> (see <see cref="NamedProjections"/>).</summary>
    public nn.Module<Tensor, Tensor> GetProjection(string name)
    {
        var (layer, block, projection) = ParseProjection(name);
        if (layer is null) return lmHead!;
        return block == "self_attn" ? Layers[layer.Value].SelfAttention.Projection(projection)
                                    : Layers[layer.Value].Mlp.Projection(projection);
    }

    /// <summary>
    /// Replaces the projection called <paramref name="name"/> with <paramref name="replacement"/>, a module that
    /// maps the same input (…, in) to the same output (…, out), for example a LoRA wrapper around the original.
    /// The name and its position among the parameters stay; the wrapper's own parameters appear under it
    /// (for example <c>model.layers.0.self_attn.q_proj.lora_A.weight</c>).
    /// </summary>
    public void ReplaceProjection(string name, nn.Module<Tensor, Tensor> replacement)
    {
        var (layer, block, projection) = ParseProjection(name);
        if (layer is null)
        {
            lmHead = replacement;
            ReplaceChild(_internal_submodules, "lm_head", replacement);
            return;
        }
        if (block == "self_attn") Layers[layer.Value].SelfAttention.ReplaceProjection(projection, replacement);
        else Layers[layer.Value].Mlp.ReplaceProjection(projection, replacement);
    }

    void ReplaceChild(TorchSharp.Utils.OrderedDict<string, nn.Module> children, string name, nn.Module replacement) =>
        ModuleSlots.Replace(children, name, replacement, register_module!);

    (int? Layer, string Block, string Projection) ParseProjection(string name)
    {
        if (name == "lm_head")
        {
            if (lmHead is null)
                throw new ArgumentException("lm_head is tied to model.embed_tokens in this model, so it is not a separate projection.", nameof(name));
            return (null, "", "");
        }
        var match = ProjectionPattern().Match(name);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, out int layer) || layer >= Layers.Count
            || !(match.Groups[2].Value == "self_attn" ? Attention.ProjectionNames : GatedMlp.ProjectionNames).Contains(match.Groups[3].Value))
            throw new ArgumentException(
                $"'{name}' is not a projection of this model; expected model.layers.N.self_attn.(q|k|v|o)_proj, " +
                $"model.layers.N.mlp.(gate|up|down)_proj with N < {Layers.Count}, or lm_head.", nameof(name));
        return (layer, match.Groups[2].Value, match.Groups[3].Value);
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)$")]
    private static partial Regex ProjectionPattern();

    /// <summary>Parameters by HF name (for example <c>model.layers.0.self_attn.q_proj.weight</c>).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() => named_parameters();

    /// <summary>Number of parameter elements.</summary>
    public long ParameterCount => NamedParameters().Sum(p => p.Parameter.numel());

    /// <summary>Bytes the parameters occupy.</summary>
    public long ParameterBytes => NamedParameters().Sum(p => p.Parameter.numel() * p.Parameter.element_size());

    /// <summary>
    /// Converts parameters one by one: <paramref name="choose"/> gets each parameter with its HF name and returns
    /// the dtype it should have (null = keep). A trainer keeps frozen weights in the compute dtype and trainable
    /// ones in fp32, for example <c>CastParameters((n, p) =&gt; p.requires_grad ? ScalarType.Float32 : ScalarType.BFloat16)</c>.
    /// Converted parameters are new objects (requires_grad is kept): build optimizers afterwards.
    /// </summary>
    /// <exception cref="NotSupportedException">A module owning a parameter to convert cannot swap it
    /// (custom modules implement <see cref="IReplaceableParameters"/>).</exception>
    public void CastParameters(Func<string, Parameter, ScalarType?> choose)
    {
        using var _ = no_grad();
        var owners = named_modules().Prepend(("", (nn.Module)this)).ToList();
        foreach (var (path, module) in owners)
        {
            foreach (var (local, parameter) in module.named_parameters(recurse: false).ToList())
            {
                string name = path.Length == 0 ? local : $"{path}.{local}";
                if (choose(name, parameter) is not { } dtype || dtype == parameter.dtype) continue;
                var converted = new Parameter(parameter.detach().to_type(dtype), requires_grad: parameter.requires_grad);
                switch (module)
                {
                    case Linear linear when local == "weight": linear.weight = converted; break;
                    case Linear linear when local == "bias": linear.bias = converted; break;
                    case IReplaceableParameters owner: owner.ReplaceParameter(local, converted); break;
                    default:
                        converted.Dispose();
                        throw new NotSupportedException(
                            $"Cannot convert '{name}': its module ({module.GetType().Name}) does not implement IReplaceableParameters.");
                }
            }
        }
    }
}
