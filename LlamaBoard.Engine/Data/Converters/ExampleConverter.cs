using LlamaBoard.Engine.Data.Readers;

namespace LlamaBoard.Engine.Data.Converters;

/// <summary>Converts a read record into the one example model, by the dataset's formatting.</summary>
public static class ExampleConverter
{
    /// <summary>Converts <paramref name="record"/> of <paramref name="file"/> in <paramref name="dataset"/>.</summary>
    /// <exception cref="DatasetException">The record is malformed; the message names the record and field.</exception>
    public static DataExample Convert(DatasetAttributes dataset, string file, SourceRecord record)
    {
        if (record.Error is not null) throw record.Error.WithSource(dataset.Name, file);
        var fields = new RecordFields(dataset, file, record);
        return dataset.Formatting switch
        {
            DatasetFormatting.Alpaca => AlpacaConverter.Convert(fields),
            DatasetFormatting.ShareGpt => ShareGptConverter.Convert(fields),
            _ => OpenAiConverter.Convert(fields),
        };
    }
}
