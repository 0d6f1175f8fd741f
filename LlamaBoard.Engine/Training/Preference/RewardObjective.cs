using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// Stage rm: the value head scores each sequence at its last non-padding token; the loss per pair is
/// −log σ(r_chosen − r_rejected). Metrics: accuracy (r_chosen &gt; r_rejected), margin (r_chosen − r_rejected) and the
/// mean scores, summed over pairs.
/// </summary>
public sealed class RewardObjective(DecoderModel model, ValueHead head) : ITrainingObjective
{
    /// <inheritdoc />
    public DataStage Stage => DataStage.Pairwise;

    /// <inheritdoc />
    public double Weight(CollatedBatch batch) => batch.Main.Rows / 2;

    /// <inheritdoc />
    public ObjectiveOutput Forward(CollatedBatch batch)
    {
        long pairs = batch.Main.Rows / 2;
        var scores = LastTokenScores(model, head, batch.Main);                    // (2B)
        var chosen = scores.narrow(0, 0, pairs);
        var rejected = scores.narrow(0, pairs, pairs);
        var loss = PreferenceLosses.Pairwise(chosen, rejected).sum();
        using var noGrad = no_grad();
        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = Sum(chosen.gt(rejected)),
            ["margin"] = Sum(chosen - rejected),
            ["scores/chosen"] = Sum(chosen),
            ["scores/rejected"] = Sum(rejected),
        };
        return new ObjectiveOutput(loss, metrics);
    }

    /// <summary>
    /// (B) fp32 value-head scores at each row's last non-padding token (right-padded rows, as LLaMA-Factory reads
    /// them: index attention_mask.sum − 1). Only those B hidden states go through the head.
    /// </summary>
    public static Tensor LastTokenScores(DecoderModel model, ValueHead head, TokenBatch tokens)
    {
        var hidden = model.ForwardHidden(tokens.InputIds, tokens.PositionIds, tokens.AttentionMask);    // (B, T, H)
        var last = tokens.AttentionMask.ne(0).sum(1).sub(1).clamp_min(0);                              // (B)
        var index = last.view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);                               // (B, 1, H)
        return head.call(hidden.gather(1, index).squeeze(1));                                           // (B)
    }

    static double Sum(Tensor values) => values.to_type(ScalarType.Float64).sum().item<double>();
}
