using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Models;

/// <summary>Token embedding table (HF <c>model.embed_tokens</c>); rows are looked up, no initialisation here.</summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>, IReplaceableParameters
{
    [ComponentName(Name = "weight")]
    Parameter weight;

    /// <summary>Creates an uninitialised (<paramref name="vocab"/>, <paramref name="hidden"/>) table.</summary>
    public TokenEmbedding(long vocab, long hidden, ScalarType dtype, Device device) : base(nameof(TokenEmbedding))
    {
        weight = new Parameter(empty(vocab, hidden, dtype: dtype, device: device));
        RegisterComponents();
    }

    /// <summary>The table, shape (vocab, hidden).</summary>
    public Parameter Weight => weight;

    /// <summary>ids (B, T) int64 → embeddings (B, T, hidden).</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var flat = weight.index_select(0, ids.reshape(-1));      // (B·T, hidden)
        return flat.view([.. ids.shape, weight.shape[1]]).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public void ReplaceParameter(string localName, Parameter replacement)
    {
        if (localName != "weight") throw new ArgumentException($"TokenEmbedding has no parameter '{localName}'.", nameof(localName));
        var old = weight;
        weight = replacement;
        ConditionallyRegisterParameter("weight", replacement);
        if (!ReferenceEquals(old, replacement)) old.Dispose();
    }
}
