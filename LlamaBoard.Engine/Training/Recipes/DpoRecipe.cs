using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
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
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Pairwise, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        var settings = options.Finetuning.Preference;
        using var reference = DpoObjective.IsReferenceFree(settings.Loss) ? null : ReferenceModel.Create(options, model, device);
        progress.Report(new TrainingLog(TrainingLogLevel.Info, reference is null
            ? $"pref_loss {settings.Loss.ToString().ToLowerInvariant()} needs no reference model."
            : $"Reference model: {reference.Description}."));
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator, new DpoObjective(model.Model, reference, settings), options, device, progress);
        return loop.Run(stop);
    }
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
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Feedback, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        using var reference = ReferenceModel.Create(options, model, device);
        progress.Report(new TrainingLog(TrainingLogLevel.Info, $"Reference model: {reference.Description}."));
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator,
                                    new KtoObjective(model.Model, reference, options.Finetuning.Preference), options, device, progress);
        return loop.Run(stop);
    }
}
