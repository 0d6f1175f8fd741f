using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Evaluation;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// Next-token training, one recipe for two stages that differ only in how the data is prepared:
/// <c>stage: sft</c> masks prompts with -100 and learns the responses; <c>stage: pt</c> concatenates documents into
/// cutoff_len blocks and learns every token. With <c>do_train: false</c> and <c>do_eval</c>/<c>do_predict</c> it
/// evaluates and predicts only (<see cref="EvaluationRun"/>); sft with <c>do_predict</c> after training predicts with
/// the trained model.
/// </summary>
/// <param name="stage">The stage this instance serves.</param>
/// <param name="dataStage">How the data worker prepares its examples.</param>
public sealed class CausalLmRecipe(TrainingStage stage, DataStage dataStage) : ITrainingRecipe
{
    /// <summary>Supervised fine-tuning.</summary>
    public static CausalLmRecipe Sft() => new(TrainingStage.Sft, DataStage.Supervised);

    /// <summary>Pre-training.</summary>
    public static CausalLmRecipe Pretrain() => new(TrainingStage.Pretrain, DataStage.Pretrain);

    /// <inheritdoc />
    public TrainingStage Stage => stage;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        if (EvaluationRun.IsEvaluationOnly(options)) return EvaluationRun.Run(options, progress, stop);
        return LoopRecipe.Run(options, dataStage, progress, stop, run => new StageParts(
            new CausalLmObjective(run.Model.Model, dataStage),
            AfterTraining: options.Training.DoPredict && dataStage == DataStage.Supervised
                ? token => EvaluationRun.PredictAfterTraining(options, run.Model.Model, run.ModelFolder, progress, token)
                : null));
    }
}
