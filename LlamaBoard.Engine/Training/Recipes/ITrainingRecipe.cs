using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// One training stage, read top to bottom: tokenizer → template → dataset → model → adapters → collator → loop.
/// Recipes share components (the data pipeline, <see cref="TrainableModel"/>, <see cref="TrainingLoop"/>), not a
/// base class.
/// </summary>
public interface ITrainingRecipe
{
    /// <summary>The stage this recipe trains.</summary>
    TrainingStage Stage { get; }

    /// <summary>Runs the stage to completion or until <paramref name="stop"/> is cancelled.</summary>
    TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop);
}
