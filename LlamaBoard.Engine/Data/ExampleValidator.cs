namespace LlamaBoard.Engine.Data;

/// <summary>Checks that an example has what its stage needs, naming the column the user should look at.</summary>
public static class ExampleValidator
{
    /// <summary>Checks that <paramref name="dataset"/> as a whole suits <paramref name="stage"/>.</summary>
    /// <exception cref="DatasetException">The dataset cannot serve this stage.</exception>
    public static void CheckDataset(DatasetAttributes dataset, DataStage stage)
    {
        if (stage == DataStage.Pairwise && !dataset.Ranking)
            throw new DatasetException("reward modelling and DPO need a preference dataset, and this one is not " +
                                       "marked \"ranking\": true", dataset.Name,
                                       remedy: "add \"ranking\": true and the chosen/rejected columns to its entry");
        if (stage != DataStage.Pairwise && dataset.Ranking)
            throw new DatasetException($"a preference (\"ranking\") dataset cannot be used for stage {stage.Key()}",
                                       dataset.Name, remedy: "use it with stage rm or dpo, or pick another dataset");
        if (stage == DataStage.Feedback && dataset.Columns.KtoTag is null)
            throw new DatasetException("KTO needs a desirability label per example, and this entry maps no kto_tag column",
                                       dataset.Name, remedy: "add \"columns\": {\"kto_tag\": \"<column>\"} to its entry");
    }

    /// <summary>Checks one example.</summary>
    /// <exception cref="DatasetException">The example lacks what the stage needs.</exception>
    public static void Check(DataExample example, DataStage stage, DatasetAttributes dataset)
    {
        var o = example.Origin;
        DatasetException Error(string problem, string? field, string? remedy = null) =>
            new(problem, o.Dataset, o.File, o.RecordIndex, o.Line, null, field, remedy);

        var columns = dataset.Columns;
        string? responseField = dataset.Formatting == DatasetFormatting.Alpaca ? columns.Response : columns.Messages;
        switch (stage)
        {
            case DataStage.Pretrain:
                if (example.Messages.Count == 0) throw Error("the record has no text", columns.Prompt);
                break;
            case DataStage.Supervised:
                if (!example.HasResponse)
                    throw Error(dataset.Formatting == DatasetFormatting.Alpaca
                                    ? "the record has no response (the field is missing or null)"
                                    : "the conversation ends with a user turn; a supervised example ends with the " +
                                      "assistant's answer", responseField);
                break;
            case DataStage.Pairwise:
                if (!example.IsPairwise) throw Error("the record has no chosen/rejected pair", columns.Chosen);
                if (example.Messages.Count % 2 == 0)
                    throw Error("a preference conversation must end with the user's turn (the two candidate " +
                                "responses follow it)", columns.Messages);
                break;
            case DataStage.Feedback:
                if (example.KtoLabel is null) throw Error("the record has no KTO label (true or false)", columns.KtoTag);
                if (!example.HasResponse) throw Error("the record has no response to label", responseField);
                break;
            case DataStage.Unsupervised:
                break;
        }
    }
}
