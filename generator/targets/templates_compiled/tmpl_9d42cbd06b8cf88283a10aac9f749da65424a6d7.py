from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'schema.sql.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_header = resolve('header')
    l_0_preamble = resolve('preamble')
    l_0_tables = resolve('tables')
    l_0_epilogue = resolve('epilogue')
    pass
    for l_1_line in (undefined(name='header') if l_0_header is missing else l_0_header):
        _loop_vars = {}
        pass
        yield '--'
        yield str((str_join((' ', l_1_line, )) if l_1_line else ''))
        yield '\n'
    l_1_line = missing
    if (undefined(name='preamble') if l_0_preamble is missing else l_0_preamble):
        pass
        yield '\n'
        for l_1_statement in (undefined(name='preamble') if l_0_preamble is missing else l_0_preamble):
            _loop_vars = {}
            pass
            yield str(environment.getattr(l_1_statement, 'sql'))
            yield '\n'
        l_1_statement = missing
    for l_1_table in (undefined(name='tables') if l_0_tables is missing else l_0_tables):
        _loop_vars = {}
        pass
        yield '\n'
        yield str(l_1_table)
    l_1_table = missing
    if (undefined(name='epilogue') if l_0_epilogue is missing else l_0_epilogue):
        pass
        yield '\n'
        for l_1_statement in (undefined(name='epilogue') if l_0_epilogue is missing else l_0_epilogue):
            _loop_vars = {}
            pass
            yield str(environment.getattr(l_1_statement, 'sql'))
            yield '\n'
        l_1_statement = missing

blocks = {}
debug_info = '1=15&2=19&4=22&6=25&7=28&10=31&12=35&14=37&16=40&17=43'