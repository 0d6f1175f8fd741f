namespace LlamaBoard.Engine.Data;

/// <summary>What a training stage needs from its data; each has its own processor.</summary>
public enum DataStage
{
    /// <summary>Pre-training (<c>pt</c>): plain text, concatenated and cut into cutoff_len blocks.</summary>
    Pretrain,
    /// <summary>Supervised fine-tuning (<c>sft</c>): prompt masked with -100, response learned.</summary>
    Supervised,
    /// <summary>Reward modelling and DPO-style preference stages (<c>rm</c>, <c>dpo</c>): chosen/rejected pairs.</summary>
    Pairwise,
    /// <summary>KTO (<c>kto</c>): one response with a desirability label, plus mismatched KL pairs.</summary>
    Feedback,
    /// <summary>PPO prompts and prediction (<c>ppo</c>, sft with predict_with_generate): prompt only.</summary>
    Unsupervised,
}

/// <summary>Maps LLaMA-Factory's <c>stage</c> values onto data stages.</summary>
public static class DataStages
{
    /// <summary>The data stage of a training stage (<c>pt</c>, <c>sft</c>, <c>rm</c>, <c>dpo</c>, <c>kto</c>, <c>ppo</c>).</summary>
    /// <param name="stage">LLaMA-Factory's stage key.</param>
    /// <param name="predictWithGenerate">True for the evaluation set of an sft run that generates.</param>
    public static DataStage FromTrainingStage(string stage, bool predictWithGenerate = false) => stage switch
    {
        "pt" => DataStage.Pretrain,
        "sft" => predictWithGenerate ? DataStage.Unsupervised : DataStage.Supervised,
        "rm" or "dpo" => DataStage.Pairwise,
        "kto" => DataStage.Feedback,
        "ppo" => DataStage.Unsupervised,
        _ => throw new ArgumentException($"unknown stage '{stage}'; expected pt, sft, rm, dpo, kto or ppo", nameof(stage)),
    };

    /// <summary>The data stage of the options model's training stage.</summary>
    /// <param name="stage">The run's stage.</param>
    /// <param name="predictWithGenerate">True for the evaluation set of an sft run that generates.</param>
    public static DataStage From(Configuration.TrainingStage stage, bool predictWithGenerate = false) => stage switch
    {
        Configuration.TrainingStage.Pretrain => DataStage.Pretrain,
        Configuration.TrainingStage.Sft => predictWithGenerate ? DataStage.Unsupervised : DataStage.Supervised,
        Configuration.TrainingStage.Reward or Configuration.TrainingStage.Dpo => DataStage.Pairwise,
        Configuration.TrainingStage.Kto => DataStage.Feedback,
        _ => DataStage.Unsupervised,
    };

    /// <summary>LLaMA-Factory's key for the stage (for cache keys and messages).</summary>
    public static string Key(this DataStage stage) => stage switch
    {
        DataStage.Pretrain => "pt",
        DataStage.Supervised => "sft",
        DataStage.Pairwise => "rm",
        DataStage.Feedback => "kto",
        _ => "unsupervised",
    };
}
