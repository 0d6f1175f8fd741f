using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>
/// A deliberately plain second implementation of the decoder, written from the transformers modeling files
/// rather than from <see cref="DecoderModel"/>: float64, one row and one head at a time, masks built element by
/// element, weights looked up by their HF names. Used as the reference the real model must match.
/// </summary>
internal sealed class NaiveDecoder
{
    readonly ModelConfig c;
    readonly Dictionary<string, Tensor> w;
    readonly Func<Tensor, Tensor>? gelu;

    /// <summary>
    /// Reads <paramref name="model"/>'s weights. <paramref name="gelu"/> replaces the tanh GELU (for references of
    /// other implementations' approximations, such as ggml's fp16 table).
    /// </summary>
    public NaiveDecoder(DecoderModel model, Func<Tensor, Tensor>? gelu = null)
    {
        this.gelu = gelu;
        c = model.Config;
        w = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.detach().to_type(ScalarType.Float64));
    }

    Tensor W(string name) => w[name];
    Tensor? B(string name) => w.GetValueOrDefault(name);

    Tensor Linear(Tensor x, string prefix) =>
        B(prefix + ".bias") is { } bias ? x.matmul(W(prefix + ".weight").t()) + bias : x.matmul(W(prefix + ".weight").t());

    Tensor Norm(Tensor x, string name)
    {
        var normed = x / (x.pow(2).mean([-1L], keepdim: true) + c.NormEps).sqrt();
        return c.NormUnitOffset ? normed * (W(name) + 1) : normed * W(name);
    }

    /// <summary>Logits (T, vocab) of one row: ids (T), sample ids (T, 0 = padding), positions (T).</summary>
    public Tensor Row(long[] ids, long[] segments, long[] positions)
    {
        int t = ids.Length;
        var h = W("model.embed_tokens.weight").index_select(0, tensor(ids));               // (T, hidden)
        if (c.ScaleEmbeddings) h = h * Math.Sqrt(c.HiddenSize);
        for (int layer = 0; layer < c.NumLayers; layer++)
        {
            string p = $"model.layers.{layer}.";
            var attention = Attention(Norm(h, p + "input_layernorm.weight"), layer, segments, positions);
            if (c.SandwichNorms) attention = Norm(attention, p + "post_attention_layernorm.weight");
            h = h + attention;
            var mlpIn = Norm(h, p + (c.SandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"));
            var gate = Linear(mlpIn, p + "mlp.gate_proj");
            gate = c.Activation == "silu" ? gate * gate.sigmoid()
                : gelu is not null ? gelu(gate)
                : 0.5 * gate * (1 + (Math.Sqrt(2 / Math.PI) * (gate + 0.044715 * gate.pow(3))).tanh()); // tanh GELU
            var mlp = Linear(gate * Linear(mlpIn, p + "mlp.up_proj"), p + "mlp.down_proj");
            if (c.SandwichNorms) mlp = Norm(mlp, p + "post_feedforward_layernorm.weight");
            h = h + mlp;
        }
        h = Norm(h, "model.norm.weight");
        var head = c.TieWordEmbeddings ? W("model.embed_tokens.weight") : W("lm_head.weight");
        var logits = h.matmul(head.t());
        if (c.FinalLogitSoftcap is { } cap) logits = (logits / cap).tanh() * cap;
        return logits;
    }

    Tensor Attention(Tensor x, int layer, long[] segments, long[] positions)
    {
        string p = $"model.layers.{layer}.self_attn.";
        int t = (int)x.shape[0], d = c.HeadDim, perKv = c.NumHeads / c.NumKvHeads;
        var rope = c.RopeOf(layer);
        long maxPosition = positions.Max() + 1;
        double[] inverse = RopeScaling.Compute(rope, maxPosition).InverseFrequencies;
        double magnitude = RopeScaling.Compute(rope, maxPosition).AttentionFactor;
        int? window = c.WindowOf(layer);
        var q = Linear(x, p + "q_proj");
        var k = Linear(x, p + "k_proj");
        var v = Linear(x, p + "v_proj");
        var heads = new List<Tensor>();
        for (int head = 0; head < c.NumHeads; head++)
        {
            int kvHead = head / perKv; // transformers' repeat_kv: query head h uses key/value head h / (H / K)
            var qh = q.narrow(1, head * d, d);
            var kh = k.narrow(1, kvHead * d, d);
            var vh = v.narrow(1, kvHead * d, d);
            if (c.QkNorm)
            {
                qh = Norm(qh, p + "q_norm.weight");
                kh = Norm(kh, p + "k_norm.weight");
            }
            qh = Rotate(qh, inverse, magnitude, positions, rope.Dim);
            kh = Rotate(kh, inverse, magnitude, positions, rope.Dim);
            var scores = qh.matmul(kh.t()) * c.AttentionScale;                       // (T, T)
            if (c.AttentionLogitSoftcap is { } cap) scores = (scores / cap).tanh() * cap;
            var allowed = new bool[t, t];
            for (int i = 0; i < t; i++)
                for (int j = 0; j < t; j++)
                    allowed[i, j] = segments[i] == 0 ? i == j
                        : j <= i && segments[j] == segments[i] && (window is null || i - j < window);
            scores = scores.masked_fill(tensor(allowed).logical_not(), double.NegativeInfinity);
            heads.Add(scores.softmax(-1).matmul(vh));
        }
        return Linear(cat(heads, 1), p + "o_proj");
    }

    static Tensor Rotate(Tensor x, double[] inverse, double magnitude, long[] positions, int rotated)
    {
        var result = x.clone();
        int half = rotated / 2;
        for (int token = 0; token < positions.Length; token++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = positions[token] * (float)inverse[i]; // fp32 frequencies, as the model uses
                double a = x[token, i].item<double>(), b = x[token, i + half].item<double>();
                result[token, i] = (a * Math.Cos(angle) - b * Math.Sin(angle)) * magnitude;
                result[token, i + half] = (b * Math.Cos(angle) + a * Math.Sin(angle)) * magnitude;
            }
        }
        return result;
    }
}
