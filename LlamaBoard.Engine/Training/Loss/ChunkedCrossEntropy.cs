using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Loss;

/// <summary>
/// Language-model loss without the full logits: the LM head and cross-entropy run over chunks of target tokens,
/// and the backward pass recomputes each chunk's logits instead of keeping them. With a 150k-token vocabulary a
/// (batch, sequence, vocab) fp32 logit tensor is where most training memory of a small model would go; here at
/// most one (chunk, vocab) block exists at a time.
/// </summary>
public static class ChunkedCrossEntropy
{
    /// <summary>Elements of one fp32 logit block (chunk × vocab): 32M elements = 128 MiB.</summary>
    public const long DefaultBlockElements = 32L << 20;

    /// <summary>
    /// Sum over target positions of −log softmax(cap·tanh(h·Wᵀ/cap))[label], in fp32.
    /// </summary>
    /// <param name="hidden">Hidden states of the target positions only, (M, H), in the model's compute dtype.</param>
    /// <param name="weight">LM head weight (V, H) (the embedding matrix when tied); gets a gradient when it requires one.</param>
    /// <param name="labels">Target token ids (M), int64; every entry must be a real target (no -100).</param>
    /// <param name="softcap">Final-logit soft-capping (Gemma 2), or null.</param>
    /// <param name="blockElements">Upper bound on chunk × vocab, which sets the chunk length.</param>
    /// <returns>A scalar fp32 tensor: the summed loss (divide by the target count for the mean).</returns>
    public static Tensor Sum(Tensor hidden, Tensor weight, Tensor labels, double? softcap = null, long blockElements = DefaultBlockElements)
    {
        LogitChunks.CheckShapes(hidden, weight, labels);
        return LossFunction.apply(hidden, weight, labels, LogitChunks.For(weight, blockElements, softcap));
    }

    sealed class LossFunction : autograd.SingleTensorFunction<LossFunction>
    {
        public override string Name => "ChunkedCrossEntropy";

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

            var total = zeros(1, dtype: ScalarType.Float32, device: hidden.device);
            long count = hidden.shape[0];
            for (long start = 0; start < count; start += settings.Chunk)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(settings.Chunk, count - start);
                var (z, _) = LogitChunks.Logits(hidden.narrow(0, start, length), weight, settings.Softcap); // (c, V)
                var target = labels.narrow(0, start, length).unsqueeze(1);                      // (c, 1)
                // −log p(target) = logsumexp(z) − z[target]
                var chunkLoss = (z.logsumexp(1) - z.gather(1, target).squeeze(1)).sum();
                total.add_(chunkLoss);
            }
            return total.squeeze(0);
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
            var scale = gradOutput.to_type(ScalarType.Float32);
            long count = hidden.shape[0];
            for (long start = 0; start < count; start += settings.Chunk)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(settings.Chunk, count - start);
                var hiddenChunk = hidden.narrow(0, start, length);                         // (c, H)
                var (z, tanh) = LogitChunks.Logits(hiddenChunk, weight, settings.Softcap);             // (c, V)
                // d loss / d z = softmax(z) − onehot(target), times the incoming scalar gradient.
                var dz = z.softmax(1);
                dz.scatter_add_(1, labels.narrow(0, start, length).unsqueeze(1), full(length, 1, -1f, device: z.device));
                dz.mul_(scale);
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
