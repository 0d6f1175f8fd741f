using LlamaBoard.Engine.Hub;

namespace LlamaBoard.Tests.Engine.Hub;

/// <summary>The model catalogue: well-formed rows, the families asked for, and the queries the board uses.</summary>
public class ModelCatalogTests
{
    // LLaMA-Factory's template names (data/template.py, register_template) that the catalogue may use.
    static readonly HashSet<string> LlamaFactoryTemplates =
        ["default", "llama3", "qwen", "qwen3", "qwen3_nothink", "mistral", "gemma", "gemma2", "gemma3", "phi", "phi4", "phi4_mini", "smollm2", "deepseekr1", "yi"];

    [Fact]
    public void Every_row_is_well_formed_and_supported()
    {
        Assert.NotEmpty(ModelCatalog.All);
        foreach (var m in ModelCatalog.All)
        {
            Assert.True(HubRepoId.IsValid(m.HubId), m.Name);
            Assert.True(m.ModelScopeId is null || HubRepoId.IsValid(m.ModelScopeId), m.Name);
            Assert.Contains(m.ModelType, ModelCatalog.SupportedModelTypes);
            Assert.Contains(m.Template, LlamaFactoryTemplates);
            Assert.EndsWith(m.ModelType == "gemma3" ? "ForConditionalGeneration" : "ForCausalLM", m.Architecture, StringComparison.Ordinal);
            Assert.InRange(m.ParametersBillions, 0.1, 15);
            if (m.Chat) Assert.NotEqual("default", m.Template);
        }
        Assert.Equal(ModelCatalog.All.Count, ModelCatalog.All.Select(m => m.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(ModelCatalog.All.Count, ModelCatalog.All.Select(m => m.HubId).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Theory]
    [InlineData("Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct", "llama3", "llama")]
    [InlineData("Llama-3.2-3B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", "llama3", "llama")]
    [InlineData("Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct", "llama3", "llama")]
    [InlineData("Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "qwen", "qwen2")]
    [InlineData("Qwen2.5-7B", "Qwen/Qwen2.5-7B", "default", "qwen2")]
    [InlineData("Qwen3-0.6B-Thinking", "Qwen/Qwen3-0.6B", "qwen3", "qwen3")]
    [InlineData("Qwen3-8B-Thinking", "Qwen/Qwen3-8B", "qwen3", "qwen3")]
    [InlineData("Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-Instruct-v0.3", "mistral", "mistral")]
    [InlineData("Gemma-2-2B-Instruct", "google/gemma-2-2b-it", "gemma2", "gemma2")]
    [InlineData("Gemma-2-9B-Instruct", "google/gemma-2-9b-it", "gemma2", "gemma2")]
    [InlineData("Gemma-3-1B-Instruct", "google/gemma-3-1b-it", "gemma2", "gemma3_text")]
    [InlineData("Gemma-3-4B-Instruct", "google/gemma-3-4b-it", "gemma3", "gemma3")]
    [InlineData("Phi-3-4B-4k-Instruct", "microsoft/Phi-3-mini-4k-instruct", "phi", "phi3")]
    [InlineData("Phi-3-4B-128k-Instruct", "microsoft/Phi-3-mini-128k-instruct", "phi", "phi3")]
    [InlineData("Phi-4-3.8B-instruct", "microsoft/Phi-4-mini-instruct", "phi4_mini", "phi3")]
    [InlineData("SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2", "llama")]
    [InlineData("SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "smollm2", "llama")]
    [InlineData("DeepSeek-R1-1.5B-Distill", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "deepseekr1", "qwen2")]
    [InlineData("DeepSeek-R1-7B-Distill", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseekr1", "qwen2")]
    [InlineData("Yi-1.5-6B-Chat", "01-ai/Yi-1.5-6B-Chat", "yi", "llama")]
    [InlineData("Yi-1.5-9B-Chat", "01-ai/Yi-1.5-9B-Chat", "yi", "llama")]
    public void The_requested_models_are_listed_with_llamafactory_templates(string name, string hubId, string template, string modelType)
    {
        var m = ModelCatalog.Find(name);
        Assert.NotNull(m);
        Assert.Equal(hubId, m.HubId);
        Assert.Equal(template, m.Template);
        Assert.Equal(modelType, m.ModelType);
        Assert.Same(m, ModelCatalog.Find(hubId.ToUpperInvariant()));
        Assert.Equal(template, ModelCatalog.TemplateFor(hubId));
    }

    [Fact]
    public void Queries_filter_by_text_family_kind_and_size()
    {
        var qwen25 = ModelCatalog.Search(family: "Qwen2.5", chat: true);
        Assert.All(qwen25, m => Assert.Equal("Qwen2.5", m.Family));
        Assert.Contains(qwen25, m => m.Name == "Qwen2.5-0.5B-Instruct");
        Assert.DoesNotContain(qwen25, m => !m.Chat);

        var small = ModelCatalog.Search(maxBillions: 0.5);
        Assert.Equal(["Gemma-3-270M", "Gemma-3-270M-Instruct", "Qwen2-0.5B", "Qwen2-0.5B-Instruct", "Qwen2.5-0.5B", "Qwen2.5-0.5B-Instruct",
                      "SmolLM2-135M", "SmolLM2-135M-Instruct", "SmolLM2-360M", "SmolLM2-360M-Instruct"],
            small.Select(m => m.Name).Order(StringComparer.Ordinal).ToList());

        Assert.All(ModelCatalog.Search("smollm"), m => Assert.Equal("SmolLM2", m.Family));
        Assert.Contains(ModelCatalog.Search("LLM-Research"), m => m.Name == "Llama-3.2-1B-Instruct");
        Assert.Null(ModelCatalog.Find("gpt-oss-20b"));
        Assert.Equal(ModelCatalog.Families.Count, ModelCatalog.Families.Distinct().Count());
        Assert.Equal("Llama 3", ModelCatalog.Families[0]);
    }

    [Fact]
    public void ModelScope_ids_and_sizes_read_as_the_board_shows_them()
    {
        var llama = ModelCatalog.Find("Llama-3.2-1B-Instruct")!;
        Assert.Equal("LLM-Research/Llama-3.2-1B-Instruct", llama.IdFor(HubSource.ModelScope));
        Assert.Equal("meta-llama/Llama-3.2-1B-Instruct", llama.IdFor(HubSource.HuggingFace));
        Assert.True(llama.Gated);
        Assert.False(ModelCatalog.Find("Qwen2.5-0.5B-Instruct")!.Gated);
        Assert.Equal("135M", ModelCatalog.Find("SmolLM2-135M")!.SizeLabel);
        Assert.Equal("0.5B", ModelCatalog.Find("Qwen2.5-0.5B")!.SizeLabel);
        Assert.Equal("1B", ModelCatalog.Find("Llama-3.2-1B-Instruct")!.SizeLabel);
        Assert.Equal("4B", ModelCatalog.Find("Phi-3-4B-128k-Instruct")!.SizeLabel);
        Assert.Equal("1.5B", ModelCatalog.Find("DeepSeek-R1-1.5B-Distill")!.SizeLabel);
        Assert.Equal("6B", ModelCatalog.Find("Yi-1.5-6B-Chat")!.SizeLabel);
        Assert.All(ModelCatalog.All, m => Assert.Matches(@"^\d+(\.\d+)?[MB]$", m.SizeLabel));
        Assert.Equal(15_240_000_000, ModelCatalog.Find("Qwen2.5-7B")!.ApproximateDownloadBytes);
    }
}
