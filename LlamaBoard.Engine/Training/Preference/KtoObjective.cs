using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// Stage kto: each example's response is desirable or not (its kto_tag); the reference point z₀ is the policy's KL
/// from the reference, estimated per micro-batch on the mismatched KL sequences (prompt i with response i − 1), with
/// no gradient, as TRL and LLaMA-Factory do. Loss per example (<see cref="PreferenceLosses.Kto"/>), normalised per
/// example by the loop; kto_chosen_weight and kto_rejected_weight weigh the two kinds.
/// </summary>
/// <remarks>
/// pref_ftx adds ftx × the desirable responses' per-token NLL, summed over desirable examples (the loop then divides
/// by all examples). Chosen and rejected metrics are averages over the chosen and rejected examples respectively
/// (<see cref="ObjectiveOutput.MetricCounts"/>); kl is averaged over micro-batches.
/// </remarks>
public sealed class KtoObjective(DecoderModel model, ReferenceModel reference, PreferenceOptions settings) : ITrainingObjective
{
    /// <inheritdoc />
    public DataStage Stage => DataStage.Feedback;

    /// <inheritdoc />
    public double Weight(CollatedBatch batch) => batch.Main.Rows;

    /// <inheritdoc />
    public ObjectiveOutput Forward(CollatedBatch batch)
    {
        var kl = batch.Kl ?? throw new ArgumentException("a KTO batch needs its KL sequences (data stage feedback).", nameof(batch));
        var tags = batch.KtoTags ?? throw new ArgumentException("a KTO batch needs its kto tags (data stage feedback).", nameof(batch));
        var scores = SequenceLogProbs.Compute(model, batch.Main);                  // (B)
        Tensor policyKl;
        using (no_grad())
        {
            // The KL sequences only set the reference point: evaluate them without building a graph.
            policyKl = SequenceLogProbs.Compute(model, kl, meanLogits: false).Sums; // (B)
        }
        var referenceMain = reference.SequenceLogProbs(batch.Main);                // (B)
        var referenceKl = reference.SequenceLogProbs(kl);                          // (B)
        var rejectedTags = tags.logical_not();

        var result = PreferenceLosses.Kto(scores.Sums[tags], scores.Sums[rejectedTags], policyKl,
                                          referenceMain[tags], referenceMain[rejectedTags], referenceKl,
                                          settings.Beta, settings.KtoChosenWeight, settings.KtoRejectedWeight);
        var lossSum = result.ChosenLosses.sum() + result.RejectedLosses.sum();
        if (settings.Ftx > 1e-6)
            lossSum = lossSum + settings.Ftx * -scores.Averages[tags].sum();

        using var noGrad = no_grad();
        double chosenCount = result.ChosenRewards.shape[0], rejectedCount = result.RejectedRewards.shape[0];
        var sums = new Dictionary<string, double>
        {
            ["rewards/chosen"] = Sum(result.ChosenRewards),
            ["logps/chosen"] = Sum(scores.Sums[tags]),
            ["logits/chosen"] = Sum(scores.MeanLogits![tags]),
            ["rewards/rejected"] = Sum(result.RejectedRewards),
            ["logps/rejected"] = Sum(scores.Sums[rejectedTags]),
            ["logits/rejected"] = Sum(scores.MeanLogits![rejectedTags]),
            ["kl"] = result.Kl.to_type(ScalarType.Float64).item<double>(),
        };
        var counts = new Dictionary<string, double>
        {
            ["rewards/chosen"] = chosenCount, ["logps/chosen"] = chosenCount, ["logits/chosen"] = chosenCount,
            ["rewards/rejected"] = rejectedCount, ["logps/rejected"] = rejectedCount, ["logits/rejected"] = rejectedCount,
            ["kl"] = 1,
        };
        return new ObjectiveOutput(lossSum, sums, counts);
    }

    static double Sum(Tensor values) => values.numel() == 0 ? 0 : values.to_type(ScalarType.Float64).sum().item<double>();
}
