using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using TorchSharp;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>What a stage adds to the shared loop: its objective, anything it owns for the run, an after-training step.</summary>
/// <param name="Objective">The stage's loss.</param>
/// <param name="Owned">Disposed when the run ends (a reference model, …); null for none.</param>
/// <param name="AfterTraining">Runs after the last step (prediction after training); false stops the run there.</param>
public sealed record StageParts(ITrainingObjective Objective, IDisposable? Owned = null, Func<CancellationToken, bool>? AfterTraining = null);

/// <summary>What <see cref="LoopRecipe.Run"/> has ready when it asks the stage for its parts.</summary>
/// <param name="Options">The run's options.</param>
/// <param name="Model">The trainable model, loaded for the finetuning method.</param>
/// <param name="ModelFolder">The local model folder.</param>
/// <param name="Device">Where the run computes.</param>
/// <param name="Progress">The run's event sink (for log lines).</param>
public sealed record StageContext(LlamaBoardOptions Options, TrainableModel Model, string ModelFolder, torch.Device Device,
                                  IProgress<TrainingEvent> Progress)
{
    /// <summary>Reports an information line.</summary>
    public void Log(string line) => Progress.Report(new TrainingLog(TrainingLogLevel.Info, line));
}

/// <summary>
/// The body every <see cref="TrainingLoop"/>-based recipe shares, top to bottom: device, model folder, data prepared
/// for the stage, the trainable model, the stage's parts, training_args.yaml, the loop. Recipes differ only in the
/// data stage and the parts, so each is a few lines over this.
/// </summary>
public static class LoopRecipe
{
    /// <summary>Runs one training for <paramref name="dataStage"/> with the parts <paramref name="stageParts"/> builds.</summary>
    public static TrainingResult Run(LlamaBoardOptions options, DataStage dataStage, IProgress<TrainingEvent> progress, CancellationToken stop,
                                     Func<StageContext, StageParts> stageParts)
    {
        ArgumentNullException.ThrowIfNull(stageParts);
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, dataStage, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        var parts = stageParts(new StageContext(options, model, modelFolder, device, progress));
        using var owned = parts.Owned;
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator, parts.Objective, options, device, progress)
        {
            AfterTraining = parts.AfterTraining,
        };
        return loop.Run(stop);
    }
}
