using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Training.Preference;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// Direct preference optimisation (<c>stage: dpo</c>) with pref_loss sigmoid, hinge, ipo, kto_pair, orpo or simpo:
/// pairwise data, the trainable model, the reference (none for orpo and simpo), the loss per pair.
/// </summary>
public sealed class DpoRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Dpo;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop) =>
        LoopRecipe.Run(options, DataStage.Pairwise, progress, stop, run =>
        {
            var settings = options.Finetuning.Preference;
            var reference = DpoObjective.IsReferenceFree(settings.Loss) ? null : ReferenceModel.Create(options, run.Model, run.Device);
            run.Log(reference is null
                ? $"pref_loss {settings.Loss.ToString().ToLowerInvariant()} needs no reference model."
                : $"Reference model: {reference.Description}.");
            return new StageParts(new DpoObjective(run.Model.Model, reference, settings), reference);
        });
}

/// <summary>
/// Kahneman-Tversky optimisation (<c>stage: kto</c>): feedback data (a response with a desirable/undesirable tag, and
/// a mismatched KL sequence), the trainable model, the reference, the KTO loss per example.
/// </summary>
public sealed class KtoRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Kto;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop) =>
        LoopRecipe.Run(options, DataStage.Feedback, progress, stop, run =>
        {
            var reference = ReferenceModel.Create(options, run.Model, run.Device);
            run.Log($"Reference model: {reference.Description}.");
            return new StageParts(new KtoObjective(run.Model.Model, reference, options.Finetuning.Preference), reference);
        });
}
