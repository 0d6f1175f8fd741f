using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Evaluation;

namespace LlamaBoard.Engine.Training.Recipes;

/// <summary>
/// Supervised fine-tuning (<c>stage: sft</c>): prompts masked with -100, next-token loss on the responses.
/// With <c>do_train: false</c> it evaluates and predicts only (<see cref="EvaluationRun"/>); with <c>do_predict</c>
/// after training, the trained model generates the predictions.
/// </summary>
public sealed class SftRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Sft;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        if (EvaluationRun.IsEvaluationOnly(options)) return EvaluationRun.Run(options, progress, stop);
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Supervised, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator,
                                    new CausalLmObjective(model.Model, DataStage.Supervised), options, device, progress)
        {
            AfterTraining = options.Training.DoPredict
                ? token => EvaluationRun.PredictAfterTraining(options, model.Model, modelFolder, progress, token)
                : null,
        };
        return loop.Run(stop);
    }
}

/// <summary>
/// Pre-training (<c>stage: pt</c>): documents concatenated into cutoff_len blocks, loss on every token. With
/// <c>do_train: false</c> and <c>do_eval</c> it reports eval_loss and perplexity only.
/// </summary>
public sealed class PretrainRecipe : ITrainingRecipe
{
    /// <inheritdoc />
    public TrainingStage Stage => TrainingStage.Pretrain;

    /// <inheritdoc />
    public TrainingResult Run(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stop)
    {
        if (EvaluationRun.IsEvaluationOnly(options)) return EvaluationRun.Run(options, progress, stop);
        var device = RecipeSetup.Device(options);
        string modelFolder = RecipeSetup.ModelFolder(options, progress, stop);
        var data = RecipeSetup.Data(options, DataStage.Pretrain, modelFolder, progress, stop);
        using var model = TrainableModel.Load(options, modelFolder, device, line => progress.Report(new TrainingLog(TrainingLogLevel.Info, line)));
        var collator = data.CreateCollator(PaddingSide.Right);
        RecipeSetup.SaveArguments(options);
        var loop = new TrainingLoop(model, data.Train, data.Eval, collator,
                                    new CausalLmObjective(model.Model, DataStage.Pretrain), options, device, progress);
        return loop.Run(stop);
    }
}
