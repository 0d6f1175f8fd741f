using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Tests.Engine.Data.Templates;

public class TemplateFormatterTests
{
    static ChatMessage U(string text) => new(ChatRole.User, text);
    static ChatMessage A(string text) => new(ChatRole.Assistant, text);

    static string Text(IEnumerable<TemplateSlot> slots) => TemplateFormatter.ToText(slots, "<s>", "</s>");

    static (string Prompt, string Response)[] Turns(string template, IReadOnlyList<ChatMessage> messages, string system = "", string tools = "") =>
        [.. TemplateFormatter.FormatMultiturn(ChatTemplates.Get(template), messages, system, tools)
                             .Select(t => (Text(t.Prompt), Text(t.Response)))];

    [Fact]
    public void Registry_has_the_required_templates()
    {
        string[] required = ["default", "empty", "alpaca", "vicuna", "chatml", "qwen", "qwen3", "qwen3_nothink", "llama2", "llama3",
                             "mistral", "gemma", "gemma3", "phi", "phi4", "deepseek", "deepseek3", "yi", "zephyr", "smollm2", "granite3"];
        Assert.Empty(required.Except(ChatTemplates.Names));
        Assert.Contains("known templates:", Assert.Throws<ArgumentException>(() => ChatTemplates.Get("qwen4")).Message);
    }

    [Fact]
    public void Qwen_puts_the_default_system_prompt_before_the_first_turn_only()
    {
        var turns = Turns("qwen", [U("Hi"), A("Hello!"), U("Bye"), A("Goodbye.")]);
        Assert.Equal("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
                     "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", turns[0].Prompt);
        Assert.Equal("Hello!<|im_end|>\n", turns[0].Response);
        Assert.Equal("<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", turns[1].Prompt);
        var own = Turns("qwen", [U("Hi"), A("Hello!")], system: "Be brief.");
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n", own[0].Prompt);
    }

    [Fact]
    public void Llama2_folds_the_system_prompt_into_the_first_user_turn()
    {
        var turns = Turns("llama2", [U("Hi"), A("Hello!"), U("Bye"), A("Goodbye.")], system: "Be kind.");
        Assert.Equal("<s>[INST] <<SYS>>\nBe kind.\n<</SYS>>\n\nHi [/INST]", turns[0].Prompt);
        Assert.Equal("Hello! </s>", turns[0].Response); // the space before EOS, as in Meta's template
        Assert.Equal("<s>[INST] Bye [/INST]", turns[1].Prompt);
        Assert.Equal("<s>[INST] Hi [/INST]", Turns("llama2", [U("Hi"), A("x")])[0].Prompt);
    }

    [Fact]
    public void Default_and_alpaca_templates_write_eos_where_llama_factory_does()
    {
        var turns = Turns("default", [U("Hi"), A("Hello")], system: "sys");
        Assert.Equal("System: sys</s>\nHuman: Hi</s>\nAssistant:", turns[0].Prompt);
        Assert.Equal("Hello</s>\n", turns[0].Response);
        var alpaca = Turns("alpaca", [U("Add 2+2"), A("4")]);
        Assert.Equal("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
                     "### Instruction:\nAdd 2+2\n\n### Response:\n", alpaca[0].Prompt);
        Assert.Equal("4</s>\n\n", alpaca[0].Response);
        Assert.Equal(("Hi", "Hello"), Turns("empty", [U("Hi"), A("Hello")])[0]);
    }

    [Fact]
    public void Qwen3_keeps_thoughts_only_where_its_chat_template_does()
    {
        var messages = new[] { U("Q1"), A("<think>\nold reasoning\n</think>\n\nA1"), U("Q2"), A("A2") };
        var turns = Turns("qwen3", messages);
        Assert.Equal("A1<|im_end|>\n", turns[0].Response); // history thought removed
        Assert.Equal("<think>\n\n</think>\n\nA2<|im_end|>\n", turns[1].Response); // empty thought learned
        Assert.Equal("<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n", turns[1].Prompt);

        var kept = Turns("qwen3", [U("Q"), A("<think>\nmine\n</think>\n\nA")]);
        Assert.Equal("<think>\nmine\n</think>\n\nA<|im_end|>\n", kept[0].Response);

        var noThinking = ChatTemplates.Get("qwen3") with { EnableThinking = false };
        var off = TemplateFormatter.FormatMultiturn(noThinking, [U("Q"), A("<think>\nmine\n</think>\n\nA")], "", "");
        Assert.Equal("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", Text(off[0].Prompt));
        Assert.Equal("A<|im_end|>\n", Text(off[0].Response));

        Assert.Equal("A2<|im_end|>\n", Turns("qwen3_nothink", [U("Q2"), A("A2")])[0].Response);
    }

    [Fact]
    public void Qwen_tools_and_tool_calls_follow_qwens_format()
    {
        string tools = """[{"name": "weather", "description": "Get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]""";
        var messages = new[]
        {
            U("Weather in Paris?"),
            new ChatMessage(ChatRole.Function, """{"name": "weather", "arguments": {"city": "Paris"}}"""),
            new ChatMessage(ChatRole.Observation, """{"temp": 21}"""),
            A("21 degrees."),
        };
        var turns = Turns("qwen3_nothink", messages, system: "Be brief.", tools: tools);
        Assert.Equal(
            "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
            """{"type": "function", "function": {"name": "weather", "description": "Get weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}""" +
            "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
            "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
            "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", turns[0].Prompt);
        Assert.Equal("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n", turns[0].Response);
        Assert.Equal("<|im_start|>user\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n", turns[1].Prompt);
    }

    [Fact]
    public void Llama3_and_default_function_calls()
    {
        var call = new ChatMessage(ChatRole.Function, """[{"name": "add", "arguments": {"a": 1}}]""");
        Assert.Equal("{\"name\": \"add\", \"parameters\": {\"a\": 1}}<|eot_id|>", Turns("llama3", [U("x"), call])[0].Response);
        Assert.Equal("Action: add\nAction Input: {\"a\": 1}</s>", Turns("vicuna", [U("x"), call])[0].Response);
        var bad = new ChatMessage(ChatRole.Function, "not json");
        Assert.Contains("not valid JSON", Assert.Throws<FormatException>(() => Turns("qwen", [U("x"), bad])).Message);
    }

    [Fact]
    public void Oneturn_joins_history_into_the_prompt()
    {
        var turn = TemplateFormatter.FormatOneturn(ChatTemplates.Get("llama3"), [U("a"), A("b"), U("c"), A("d")], "", "");
        Assert.Equal("<s><|start_header_id|>user<|end_header_id|>\n\na<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" +
                     "b<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nc<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                     Text(turn.Prompt));
        Assert.Equal("d<|eot_id|>", Text(turn.Response));
    }

    [Fact]
    public void Placeholders_are_filled_once_and_never_inside_the_content()
    {
        var format = SlotFormat.Of("[{{idx}}] {{content}} {{content}}");
        Assert.Equal("[3] say {{idx}} {{content}}", ((TextSlot)format.Apply("say {{idx}}", "3")[0]).Value);
    }
}
