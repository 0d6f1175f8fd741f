using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training.Loss;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>
/// Next-token cross-entropy on the labelled positions (pre-training and SFT). Only hidden states whose next label
/// is a target go through the LM head, in chunks (<see cref="ChunkedCrossEntropy"/>), so no (B, T, vocab) logits exist.
/// </summary>
public sealed class CausalLmObjective(DecoderModel model, DataStage stage) : ITrainingObjective
{
    /// <inheritdoc />
    public DataStage Stage => stage;

    /// <inheritdoc />
    public double Weight(CollatedBatch batch)
    {
        using var scope = NewDisposeScope();
        return batch.Main.Labels.narrow(1, 1, batch.Main.Labels.shape[1] - 1).ne(TokenSequence.IgnoreIndex).sum().item<long>();
    }

    /// <inheritdoc />
    public ObjectiveOutput Forward(CollatedBatch batch) => new(LossSum(model, batch.Main));

    /// <summary>Summed next-token loss of <paramref name="tokens"/> (labels aligned with input_ids, -100 = ignore).</summary>
    /// <remarks>
    /// No dispose scope of its own: with activation checkpointing the forward pass's context (rotary tables, masks)
    /// must live until backward, so everything stays in the caller's per-micro-batch scope.
    /// </remarks>
    public static Tensor LossSum(DecoderModel model, TokenBatch tokens)
    {
        var hidden = model.ForwardHidden(tokens.InputIds, tokens.PositionIds, tokens.AttentionMask);  // (B, T, H)
        long length = hidden.shape[1];
        // Position t predicts label t + 1 (HF's shift).
        var targets = tokens.Labels.narrow(1, 1, length - 1);                                   // (B, T-1)
        var keep = targets.ne(TokenSequence.IgnoreIndex);                                      // (B, T-1)
        var selected = hidden.narrow(1, 0, length - 1)[keep];                                   // (M, H)
        var labels = targets[keep];                                                             // (M)
        Tensor loss = model.LmHead switch
        {
            null => ChunkedCrossEntropy.Sum(selected, model.Body.EmbedTokens.Weight, labels, model.Config.FinalLogitSoftcap),
            Linear head => ChunkedCrossEntropy.Sum(selected, head.weight!, labels, model.Config.FinalLogitSoftcap),
            // An adapted head (LoRA on lm_head): plain logits of the selected positions only.
            _ => nn.functional.cross_entropy(model.ComputeLogits(selected).to_type(ScalarType.Float32), labels, reduction: nn.Reduction.Sum),
        };
        return loss;
    }
}
