using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>
/// Random initialisation as transformers' <c>_init_weights</c> does it: linear and embedding weights from
/// N(0, initializer_range²), biases zero, the padding token's embedding row zero, RMSNorm weights one (zero with
/// the Gemma unit offset, which means the same scale of one).
/// </summary>
public static class ModelInitializer
{
    /// <summary>Initialises every parameter of <paramref name="model"/> reproducibly from <paramref name="seed"/>.</summary>
    public static void Initialize(DecoderModel model, ulong seed)
    {
        var config = model.Config;
        using var _ = no_grad();
        using var generator = new Generator(seed);
        var norms = model.named_modules().Where(m => m.module is RmsNorm)
                         .Select(m => m.name + ".weight").ToHashSet(StringComparer.Ordinal);
        foreach (var (name, parameter) in model.NamedParameters())
        {
            if (norms.Contains(name))
                parameter.fill_(config.NormUnitOffset ? 0.0 : 1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
                parameter.zero_();
            else
                FillNormal(parameter, config.InitializerRange, generator);
        }
        if (config.PadTokenId is { } pad && pad >= 0 && pad < config.VocabSize)
            model.Body.EmbedTokens.Weight[pad].zero_();
    }

    static void FillNormal(Parameter parameter, double std, Generator generator)
    {
        // Drawn on the CPU so the same seed gives the same weights on every device.
        if (parameter.device_type == DeviceType.CPU)
        {
            parameter.normal_(0, std, generator);
            return;
        }
        using var values = empty(parameter.shape, dtype: parameter.dtype).normal_(0, std, generator);
        parameter.copy_(values);
    }
}
