using LlamaBoard.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Loss;

/// <summary>
/// Per-token log-probabilities of target tokens without the full logits, the building block of the preference and
/// RL losses (sequence log-probs for DPO/KTO, token log-probs for PPO). Like <see cref="ChunkedCrossEntropy"/>, the
/// LM head runs over chunks of the selected positions and the backward pass recomputes each chunk's logits, so at
/// most one (chunk, vocab) fp32 block exists at a time; unlike it, the result is one value per token, so callers can
/// sum per sequence or weight per token.
/// </summary>
public static class ChunkedLogProbs
{
    /// <summary>
    /// log softmax(cap·tanh(h·Wᵀ/cap))[label] for each of the M positions, in fp32, differentiable with respect to
    /// the hidden states and (when it requires grad) the head weight.
    /// </summary>
    /// <param name="hidden">Hidden states of the target positions, (M, H), in the compute dtype.</param>
    /// <param name="weight">LM head weight (V, H) (the embedding matrix when tied).</param>
    /// <param name="labels">Target ids (M) int64, all real targets.</param>
    /// <param name="softcap">Final-logit soft-capping (Gemma 2), or null.</param>
    /// <param name="blockElements">Upper bound on chunk × vocab.</param>
    /// <returns>(M) fp32 log-probabilities.</returns>
    public static Tensor PerToken(Tensor hidden, Tensor weight, Tensor labels, double? softcap = null,
                                  long blockElements = ChunkedCrossEntropy.DefaultBlockElements)
    {
        LogitChunks.CheckShapes(hidden, weight, labels);
        if (hidden.shape[0] == 0) return zeros(0, dtype: ScalarType.Float32, device: hidden.device);
        return LogProbFunction.apply(hidden, weight, labels, LogitChunks.For(weight, blockElements, softcap));
    }

    /// <summary>
    /// Per-token log-probabilities through <paramref name="model"/>'s own head: chunked for a plain or tied head, and
    /// plain logits of the selected rows for an adapted head (LoRA on lm_head).
    /// </summary>
    /// <param name="model">The decoder whose head scores the positions.</param>
    /// <param name="hidden">(M, H) final hidden states of the positions that predict <paramref name="labels"/>.</param>
    /// <param name="labels">(M) target ids.</param>
    public static Tensor PerToken(DecoderModel model, Tensor hidden, Tensor labels) => model.LmHead switch
    {
        null => PerToken(hidden, model.Body.EmbedTokens.Weight, labels, model.Config.FinalLogitSoftcap),
        Linear head => PerToken(hidden, head.weight!, labels, model.Config.FinalLogitSoftcap),
        _ => model.ComputeLogits(hidden).to_type(ScalarType.Float32).log_softmax(-1).gather(1, labels.unsqueeze(1)).squeeze(1),
    };

    /// <summary>
    /// Entropy of the next-token distribution at each position, −Σ p·log p, in fp32 and without gradient (a metric:
    /// PPO's policy entropy). Chunked like <see cref="PerToken(Tensor, Tensor, Tensor, double?, long)"/>.
    /// </summary>
    /// <param name="model">The decoder whose head gives the distribution.</param>
    /// <param name="hidden">(M, H) hidden states.</param>
    /// <param name="blockElements">Upper bound on chunk × vocab.</param>
    /// <returns>(M) fp32 entropies.</returns>
    public static Tensor Entropy(DecoderModel model, Tensor hidden, long blockElements = ChunkedCrossEntropy.DefaultBlockElements)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long count = hidden.shape[0];
        var result = zeros(count, dtype: ScalarType.Float32, device: hidden.device);
        long chunk = Math.Max(1, blockElements / model.Config.VocabSize);
        for (long start = 0; start < count; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            long length = Math.Min(chunk, count - start);
            var logits = model.ComputeLogits(hidden.narrow(0, start, length)).to_type(ScalarType.Float32); // (c, V)
            var logp = logits.log_softmax(-1);
            result.narrow(0, start, length).copy_(-(logp.exp() * logp).sum(-1));
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean of the logits over the vocabulary at each position, (M), without gradient: TRL's logits/chosen and
    /// logits/rejected metrics average the full logits. Without soft-capping a plain head is linear, so the mean is
    /// h·mean(W) and needs no logits at all; otherwise the logits are computed chunk by chunk.
    /// </summary>
    /// <param name="model">The decoder.</param>
    /// <param name="hidden">(M, H) hidden states.</param>
    public static Tensor MeanLogit(DecoderModel model, Tensor hidden)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor? weight = model.Config.FinalLogitSoftcap is not null ? null : model.LmHead switch
        {
            null => model.Body.EmbedTokens.Weight,
            Linear { bias: null } head => head.weight!,
            _ => null,
        };
        if (weight is not null)
            return hidden.to_type(ScalarType.Float32).matmul(weight.to_type(ScalarType.Float32).mean([0])).MoveToOuterDisposeScope(); // (M)
        long count = hidden.shape[0];
        var result = zeros(count, dtype: ScalarType.Float32, device: hidden.device);
        long chunk = Math.Max(1, ChunkedCrossEntropy.DefaultBlockElements / model.Config.VocabSize);
        for (long start = 0; start < count; start += chunk)
        {
            using var chunkScope = NewDisposeScope();
            long length = Math.Min(chunk, count - start);
            result.narrow(0, start, length).copy_(model.ComputeLogits(hidden.narrow(0, start, length)).to_type(ScalarType.Float32).mean([-1]));
        }
        return result.MoveToOuterDisposeScope();
    }

    sealed class LogProbFunction : autograd.SingleTensorFunction<LogProbFunction>
    {
        public override string Name => "ChunkedLogProbs";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var hidden = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var labels = (Tensor)vars[2];
            var settings = (LogitChunkSettings)vars[3];
            ctx.save_for_backward([hidden, weight, labels]);
            ctx.save_data("settings", settings);
            ctx.save_data("weight_grad", weight.requires_grad);
            ctx.save_data("hidden_grad", hidden.requires_grad);

            long count = hidden.shape[0];
            var result = empty(count, dtype: ScalarType.Float32, device: hidden.device);
            for (long start = 0; start < count; start += settings.Chunk)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(settings.Chunk, count - start);
                var (z, _) = LogitChunks.Logits(hidden.narrow(0, start, length), weight, settings.Softcap); // (c, V)
                var target = labels.narrow(0, start, length).unsqueeze(1);                      // (c, 1)
                // log p(target) = z[target] − logsumexp(z)
                result.narrow(0, start, length).copy_(z.gather(1, target).squeeze(1) - z.logsumexp(1));
            }
            return result;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var saved = ctx.get_saved_variables();
            var (hidden, weight, labels) = (saved[0], saved[1], saved[2]);
            var settings = (LogitChunkSettings)ctx.get_data("settings");
            bool needWeight = (bool)ctx.get_data("weight_grad");
            bool needHidden = (bool)ctx.get_data("hidden_grad");

            Tensor? gradHidden = needHidden ? zeros_like(hidden) : null;
            Tensor? gradWeight = needWeight ? zeros(weight.shape, dtype: ScalarType.Float32, device: weight.device) : null;
            var upstream = gradOutput.to_type(ScalarType.Float32); // (M)
            long count = hidden.shape[0];
            for (long start = 0; start < count; start += settings.Chunk)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(settings.Chunk, count - start);
                var hiddenChunk = hidden.narrow(0, start, length);                          // (c, H)
                var (z, tanh) = LogitChunks.Logits(hiddenChunk, weight, settings.Softcap);              // (c, V)
                // d log p(target) / d z = onehot(target) − softmax(z), scaled per row by the upstream gradient.
                var dz = z.softmax(1).neg_();
                dz.scatter_add_(1, labels.narrow(0, start, length).unsqueeze(1), ones(length, 1, device: z.device));
                dz.mul_(upstream.narrow(0, start, length).unsqueeze(1));
                if (tanh is not null) dz.mul_(1 - tanh.square()); // d(cap·tanh(x/cap))/dx = 1 − tanh²
                if (gradHidden is not null)
                    gradHidden.narrow(0, start, length).copy_(dz.to_type(weight.dtype).matmul(weight));
                if (gradWeight is not null)
                    gradWeight.add_(dz.t().matmul(hiddenChunk.to_type(ScalarType.Float32)));   // (V, H)
            }
            return [gradHidden!, gradWeight?.to_type(weight.dtype)!, null!, null!];
        }
    }
}
