namespace LlamaBoard.Engine.Hub;

/// <summary>
/// The catalogue's rows. Per family: config.json's model_type and architecture, and whether the hub gates it; per
/// model: LLaMA-Factory's display name, the Hugging Face and ModelScope ids, the chat template, the size in billions
/// of parameters and whether it is a chat model. Base models get LLaMA-Factory's "default" template.
/// </summary>
/// <remarks>
/// Deliberate departures from LLaMA-Factory's list: it swaps the ModelScope ids of Gemma-7B and Gemma-2B-Instruct
/// (fixed here); its suffix rule ("-Instruct", case-sensitive) gives no template to "Phi-3.5-4B-instruct" and
/// "Phi-4-3.8B-instruct" (they get their group's template here). Hub ids are LLaMA-Factory's even where the hub has
/// renamed a repository (Meta-Llama-3.1-…): the hub redirects old names, and the same id keeps the same cache folder
/// as LLaMA-Factory's. Mixture-of-experts, vision-only and unsupported architectures (phi3small, phimoe, Mistral 3,
/// Gemma 3n) are left out.
/// </remarks>
internal static class ModelCatalogEntries
{
    const string BaseTemplate = "default";

    sealed record Family(string Name, string ModelType, string Architecture, bool Gated, (string Name, string Hub, string? Ms, string Template, double Billions, bool Chat)[] Models);

    public static IReadOnlyList<CatalogModel> Build() =>
        Families().SelectMany(f => f.Models.Select(m =>
            new CatalogModel(m.Name, f.Name, m.Hub, m.Ms, m.Template, f.ModelType, f.Architecture, m.Billions, m.Chat, f.Gated))).ToList();

    static IEnumerable<Family> Families()
    {
        yield return new("Llama 3", "llama", "LlamaForCausalLM", true,
        [
            ("Llama-3.2-1B", "meta-llama/Llama-3.2-1B", "LLM-Research/Llama-3.2-1B", BaseTemplate, 1.24, false),
            ("Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-1B-Instruct", "LLM-Research/Llama-3.2-1B-Instruct", "llama3", 1.24, true),
            ("Llama-3.2-3B", "meta-llama/Llama-3.2-3B", "LLM-Research/Llama-3.2-3B", BaseTemplate, 3.21, false),
            ("Llama-3.2-3B-Instruct", "meta-llama/Llama-3.2-3B-Instruct", "LLM-Research/Llama-3.2-3B-Instruct", "llama3", 3.21, true),
            ("Llama-3-8B", "meta-llama/Meta-Llama-3-8B", "LLM-Research/Meta-Llama-3-8B", BaseTemplate, 8.03, false),
            ("Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-8B-Instruct", "LLM-Research/Meta-Llama-3-8B-Instruct", "llama3", 8.03, true),
            ("Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B", "LLM-Research/Meta-Llama-3.1-8B", BaseTemplate, 8.03, false),
            ("Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B-Instruct", "LLM-Research/Meta-Llama-3.1-8B-Instruct", "llama3", 8.03, true),
        ]);
        yield return new("Qwen2", "qwen2", "Qwen2ForCausalLM", false,
        [
            ("Qwen2-0.5B", "Qwen/Qwen2-0.5B", "Qwen/Qwen2-0.5B", BaseTemplate, 0.49, false),
            ("Qwen2-0.5B-Instruct", "Qwen/Qwen2-0.5B-Instruct", "Qwen/Qwen2-0.5B-Instruct", "qwen", 0.49, true),
            ("Qwen2-1.5B", "Qwen/Qwen2-1.5B", "Qwen/Qwen2-1.5B", BaseTemplate, 1.54, false),
            ("Qwen2-1.5B-Instruct", "Qwen/Qwen2-1.5B-Instruct", "Qwen/Qwen2-1.5B-Instruct", "qwen", 1.54, true),
            ("Qwen2-7B", "Qwen/Qwen2-7B", "Qwen/Qwen2-7B", BaseTemplate, 7.62, false),
            ("Qwen2-7B-Instruct", "Qwen/Qwen2-7B-Instruct", "Qwen/Qwen2-7B-Instruct", "qwen", 7.62, true),
        ]);
        yield return new("Qwen2.5", "qwen2", "Qwen2ForCausalLM", false,
        [
            ("Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B", BaseTemplate, 0.49, false),
            ("Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "qwen", 0.49, true),
            ("Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B", BaseTemplate, 1.54, false),
            ("Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct", "qwen", 1.54, true),
            ("Qwen2.5-3B", "Qwen/Qwen2.5-3B", "Qwen/Qwen2.5-3B", BaseTemplate, 3.09, false),
            ("Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B-Instruct", "qwen", 3.09, true),
            ("Qwen2.5-7B", "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B", BaseTemplate, 7.62, false),
            ("Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "qwen", 7.62, true),
            ("Qwen2.5-Coder-1.5B-Instruct", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "Qwen/Qwen2.5-Coder-1.5B-Instruct", "qwen", 1.54, true),
            ("Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct", "qwen", 7.62, true),
        ]);
        yield return new("Qwen3", "qwen3", "Qwen3ForCausalLM", false,
        [
            ("Qwen3-0.6B-Base", "Qwen/Qwen3-0.6B-Base", "Qwen/Qwen3-0.6B-Base", BaseTemplate, 0.6, false),
            ("Qwen3-0.6B-Thinking", "Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B", "qwen3", 0.6, true),
            ("Qwen3-1.7B-Base", "Qwen/Qwen3-1.7B-Base", "Qwen/Qwen3-1.7B-Base", BaseTemplate, 1.7, false),
            ("Qwen3-1.7B-Thinking", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-1.7B", "qwen3", 1.7, true),
            ("Qwen3-4B-Base", "Qwen/Qwen3-4B-Base", "Qwen/Qwen3-4B-Base", BaseTemplate, 4.0, false),
            ("Qwen3-4B-Thinking", "Qwen/Qwen3-4B", "Qwen/Qwen3-4B", "qwen3", 4.0, true),
            ("Qwen3-4B-Instruct-2507", "Qwen/Qwen3-4B-Instruct-2507", "Qwen/Qwen3-4B-Instruct-2507", "qwen3_nothink", 4.0, true),
            ("Qwen3-4B-Thinking-2507", "Qwen/Qwen3-4B-Thinking-2507", "Qwen/Qwen3-4B-Thinking-2507", "qwen3", 4.0, true),
            ("Qwen3-8B-Base", "Qwen/Qwen3-8B-Base", "Qwen/Qwen3-8B-Base", BaseTemplate, 8.2, false),
            ("Qwen3-8B-Thinking", "Qwen/Qwen3-8B", "Qwen/Qwen3-8B", "qwen3", 8.2, true),
        ]);
        yield return new("Mistral", "mistral", "MistralForCausalLM", true,
        [
            ("Mistral-7B-v0.3", "mistralai/Mistral-7B-v0.3", "LLM-Research/mistral-7b-v0.3", BaseTemplate, 7.25, false),
            ("Mistral-7B-Instruct-v0.2", "mistralai/Mistral-7B-Instruct-v0.2", "AI-ModelScope/Mistral-7B-Instruct-v0.2", "mistral", 7.24, true),
            ("Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-Instruct-v0.3", "LLM-Research/Mistral-7B-Instruct-v0.3", "mistral", 7.25, true),
        ]);
        yield return new("Gemma", "gemma", "GemmaForCausalLM", true,
        [
            ("Gemma-2B", "google/gemma-2b", "AI-ModelScope/gemma-2b", BaseTemplate, 2.51, false),
            ("Gemma-2B-Instruct", "google/gemma-2b-it", "AI-ModelScope/gemma-2b-it", "gemma", 2.51, true),
            ("Gemma-7B", "google/gemma-7b", "AI-ModelScope/gemma-7b", BaseTemplate, 8.54, false),
            ("Gemma-7B-Instruct", "google/gemma-7b-it", "AI-ModelScope/gemma-7b-it", "gemma", 8.54, true),
        ]);
        yield return new("Gemma 2", "gemma2", "Gemma2ForCausalLM", true,
        [
            ("Gemma-2-2B", "google/gemma-2-2b", "LLM-Research/gemma-2-2b", BaseTemplate, 2.61, false),
            ("Gemma-2-2B-Instruct", "google/gemma-2-2b-it", "LLM-Research/gemma-2-2b-it", "gemma2", 2.61, true),
            ("Gemma-2-9B", "google/gemma-2-9b", "LLM-Research/gemma-2-9b", BaseTemplate, 9.24, false),
            ("Gemma-2-9B-Instruct", "google/gemma-2-9b-it", "LLM-Research/gemma-2-9b-it", "gemma2", 9.24, true),
        ]);
        // The text-only Gemma 3 sizes: LLaMA-Factory registers them with the gemma2 template.
        yield return new("Gemma 3", "gemma3_text", "Gemma3ForCausalLM", true,
        [
            ("Gemma-3-270M", "google/gemma-3-270m", "LLM-Research/gemma-3-270m", BaseTemplate, 0.27, false),
            ("Gemma-3-270M-Instruct", "google/gemma-3-270m-it", "LLM-Research/gemma-3-270m-it", "gemma2", 0.27, true),
            ("Gemma-3-1B", "google/gemma-3-1b-pt", "LLM-Research/gemma-3-1b-pt", BaseTemplate, 1.0, false),
            ("Gemma-3-1B-Instruct", "google/gemma-3-1b-it", "LLM-Research/gemma-3-1b-it", "gemma2", 1.0, true),
        ]);
        // Gemma 3 from 4B up ships as an image-text model; the engine runs its language model. LLaMA-Factory gives
        // multimodal models their template even as base models, and so does this table.
        yield return new("Gemma 3 (4B+)", "gemma3", "Gemma3ForConditionalGeneration", true,
        [
            ("Gemma-3-4B", "google/gemma-3-4b-pt", "LLM-Research/gemma-3-4b-pt", "gemma3", 4.3, false),
            ("Gemma-3-4B-Instruct", "google/gemma-3-4b-it", "LLM-Research/gemma-3-4b-it", "gemma3", 4.3, true),
        ]);
        yield return new("Phi-3", "phi3", "Phi3ForCausalLM", false,
        [
            ("Phi-3-4B-4k-Instruct", "microsoft/Phi-3-mini-4k-instruct", "LLM-Research/Phi-3-mini-4k-instruct", "phi", 3.82, true),
            ("Phi-3-4B-128k-Instruct", "microsoft/Phi-3-mini-128k-instruct", "LLM-Research/Phi-3-mini-128k-instruct", "phi", 3.82, true),
            ("Phi-3.5-4B-instruct", "microsoft/Phi-3.5-mini-instruct", "LLM-Research/Phi-3.5-mini-instruct", "phi", 3.82, true),
            ("Phi-3-14B-8k-Instruct", "microsoft/Phi-3-medium-4k-instruct", "LLM-Research/Phi-3-medium-4k-instruct", "phi", 14.0, true),
        ]);
        yield return new("Phi-4", "phi3", "Phi3ForCausalLM", false,
        [
            ("Phi-4-3.8B-instruct", "microsoft/Phi-4-mini-instruct", "LLM-Research/Phi-4-mini-instruct", "phi4_mini", 3.84, true),
            ("Phi-4-14B-Instruct", "microsoft/phi-4", "LLM-Research/phi-4", "phi4", 14.7, true),
        ]);
        yield return new("SmolLM2", "llama", "LlamaForCausalLM", false,
        [
            ("SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M", BaseTemplate, 0.135, false),
            ("SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2", 0.135, true),
            ("SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M", BaseTemplate, 0.362, false),
            ("SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct", "smollm2", 0.362, true),
            ("SmolLM2-1.7B", "HuggingFaceTB/SmolLM2-1.7B", "HuggingFaceTB/SmolLM2-1.7B", BaseTemplate, 1.71, false),
            ("SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "smollm2", 1.71, true),
        ]);
        yield return new("DeepSeek-R1-Distill (Qwen)", "qwen2", "Qwen2ForCausalLM", false,
        [
            ("DeepSeek-R1-1.5B-Distill", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "deepseekr1", 1.78, true),
            ("DeepSeek-R1-7B-Distill", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseekr1", 7.62, true),
        ]);
        yield return new("DeepSeek-R1-Distill (Llama)", "llama", "LlamaForCausalLM", false,
        [
            ("DeepSeek-R1-8B-Distill", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseekr1", 8.03, true),
        ]);
        yield return new("DeepSeek-R1-Distill (Qwen3)", "qwen3", "Qwen3ForCausalLM", false,
        [
            ("DeepSeek-R1-0528-8B-Distill", "deepseek-ai/DeepSeek-R1-0528-Qwen3-8B", "deepseek-ai/DeepSeek-R1-0528-Qwen3-8B", "deepseekr1", 8.19, true),
        ]);
        yield return new("Yi-1.5", "llama", "LlamaForCausalLM", false,
        [
            ("Yi-1.5-6B", "01-ai/Yi-1.5-6B", "01ai/Yi-1.5-6B", BaseTemplate, 6.06, false),
            ("Yi-1.5-6B-Chat", "01-ai/Yi-1.5-6B-Chat", "01ai/Yi-1.5-6B-Chat", "yi", 6.06, true),
            ("Yi-1.5-9B", "01-ai/Yi-1.5-9B", "01ai/Yi-1.5-9B", BaseTemplate, 8.83, false),
            ("Yi-1.5-9B-Chat", "01-ai/Yi-1.5-9B-Chat", "01ai/Yi-1.5-9B-Chat", "yi", 8.83, true),
        ]);
    }
}
