using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// Stage dpo: one forward pass over the 2B rows of a pairwise batch (B chosen, then B rejected), sequence
/// log-probabilities of the responses, the pref_loss formula (<see cref="PreferenceLosses"/>) against the reference
/// (or none for orpo and simpo), plus pref_ftx × the chosen responses' per-token NLL. The loop normalises per pair.
/// </summary>
/// <remarks>
/// As in LLaMA-Factory, ipo, orpo and simpo work on log-probabilities averaged per response token (and report those
/// as logps/…); sigmoid, hinge and kto_pair on sums. Metrics use TRL's names, summed over pairs.
/// </remarks>
public sealed class DpoObjective : ITrainingObjective
{
    readonly DecoderModel model;
    readonly ReferenceModel? reference;
    readonly PreferenceOptions settings;

    /// <summary>An objective for <paramref name="settings"/>' pref_loss; <paramref name="reference"/> is required unless orpo or simpo.</summary>
    public DpoObjective(DecoderModel model, ReferenceModel? reference, PreferenceOptions settings)
    {
        if (reference is null && !IsReferenceFree(settings.Loss))
            throw new ArgumentException($"pref_loss {settings.Loss} needs a reference model.", nameof(reference));
        this.model = model;
        this.reference = IsReferenceFree(settings.Loss) ? null : reference;
        this.settings = settings;
    }

    /// <summary>True for the losses that need no reference model (orpo, simpo).</summary>
    public static bool IsReferenceFree(PreferenceLoss loss) => loss is PreferenceLoss.Orpo or PreferenceLoss.Simpo;

    /// <summary>True for the losses computed on per-token averaged log-probabilities (ipo, orpo, simpo).</summary>
    public static bool UsesAverages(PreferenceLoss loss) => loss is PreferenceLoss.Ipo or PreferenceLoss.Orpo or PreferenceLoss.Simpo;

    /// <inheritdoc />
    public DataStage Stage => DataStage.Pairwise;

    /// <inheritdoc />
    public double Weight(CollatedBatch batch) => batch.Main.Rows / 2;

    /// <inheritdoc />
    public ObjectiveOutput Forward(CollatedBatch batch)
    {
        long pairs = batch.Main.Rows / 2;
        var scores = SequenceLogProbs.Compute(model, batch.Main);                     // (2B)
        bool averaged = UsesAverages(settings.Loss);
        var logps = averaged ? scores.Averages : scores.Sums;                          // (2B)
        var chosen = logps.narrow(0, 0, pairs);                                        // (B)
        var rejected = logps.narrow(0, pairs, pairs);                                  // (B)

        PairLosses result;
        Tensor? orpoTerm = null;
        switch (settings.Loss)
        {
            case PreferenceLoss.Orpo:
                result = PreferenceLosses.Orpo(chosen, rejected, settings.Beta);
                orpoTerm = (result.Losses.detach() + chosen.detach()) / settings.Beta;   // −log σ(log odds ratio)
                break;
            case PreferenceLoss.Simpo:
                result = PreferenceLosses.Simpo(chosen, rejected, settings.Beta, settings.SimpoGamma);
                break;
            default:
                var referenceSums = reference!.SequenceLogProbs(batch.Main);           // (2B), no grad
                var referenceLogps = averaged ? referenceSums / scores.Counts.detach() : referenceSums;
                result = PreferenceLosses.Dpo(settings.Loss, chosen, rejected, referenceLogps.narrow(0, 0, pairs),
                                              referenceLogps.narrow(0, pairs, pairs), settings.Beta, settings.DpoLabelSmoothing);
                break;
        }

        // pref_ftx: LLaMA-Factory's SFT term, the chosen responses' negative log-likelihood per token.
        var sftLoss = -scores.Averages.narrow(0, 0, pairs);                            // (B)
        var losses = settings.Ftx > 1e-6 ? result.Losses + settings.Ftx * sftLoss : result.Losses;
        var lossSum = losses.sum();

        using var noGrad = no_grad();
        var metrics = new Dictionary<string, double>
        {
            ["rewards/chosen"] = Sum(result.ChosenRewards),
            ["rewards/rejected"] = Sum(result.RejectedRewards),
            ["rewards/accuracies"] = Sum(result.ChosenRewards.gt(result.RejectedRewards)),
            ["rewards/margins"] = Sum(result.ChosenRewards - result.RejectedRewards),
            ["logps/chosen"] = Sum(chosen),
            ["logps/rejected"] = Sum(rejected),
            ["logits/chosen"] = Sum(scores.MeanLogits!.narrow(0, 0, pairs)),
            ["logits/rejected"] = Sum(scores.MeanLogits!.narrow(0, pairs, pairs)),
        };
        if (orpoTerm is not null)
        {
            metrics["sft_loss"] = Sum(sftLoss);
            metrics["odds_ratio_loss"] = Sum(orpoTerm);
        }
        return new ObjectiveOutput(lossSum, metrics);
    }

    static double Sum(Tensor values) => values.to_type(ScalarType.Float64).sum().item<double>();
}
