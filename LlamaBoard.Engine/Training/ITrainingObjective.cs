using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Training;

/// <summary>What one micro-batch contributes to a step: a summed loss and summed metrics.</summary>
/// <param name="LossSum">Scalar fp32 loss summed over the batch's units (tokens, pairs, examples), with grad when training.</param>
/// <param name="MetricSums">Extra metrics summed over the same units (for example rewards/chosen), or null.</param>
/// <param name="MetricCounts">
/// For metrics averaged over units of their own (KTO's rewards/chosen over the desirable examples only): how many
/// such units the batch had. Metrics not listed are averaged over the batch's <see cref="ITrainingObjective.Weight"/>.
/// </param>
public sealed record ObjectiveOutput(Tensor LossSum, IReadOnlyDictionary<string, double>? MetricSums = null,
                                     IReadOnlyDictionary<string, double>? MetricCounts = null);

/// <summary>
/// The stage-specific part of a training loop: how a collated batch becomes a loss. The loop normalises each
/// micro-batch's summed loss by the total <see cref="Weight"/> of the whole accumulation window, so gradient
/// accumulation gives the same update as one large batch (per target token for language modelling, per pair for
/// preference losses).
/// </summary>
public interface ITrainingObjective
{
    /// <summary>The data stage the collator builds batches for.</summary>
    DataStage Stage { get; }

    /// <summary>The batch's weight in the normaliser, known before the forward pass (target tokens, pairs, …).</summary>
    double Weight(CollatedBatch batch);

    /// <summary>Runs the model on <paramref name="batch"/> and returns the summed loss.</summary>
    ObjectiveOutput Forward(CollatedBatch batch);
}
